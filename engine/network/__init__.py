"""Engine networking: bridge networks, container endpoints (veth + netns), IPAM, firewall rules, published
ports and the embedded DNS server. `service.NetworkService` is the entry point for the rest of the engine."""

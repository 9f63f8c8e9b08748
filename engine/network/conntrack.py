"""Connections still open to a container, from the kernel's connection tracking table of the daemon's network
namespace (`/proc/net/nf_conntrack`): what a member taken out of rotation is still serving before it is
stopped (engine.containers.traffic drains it until none is left). Connections to a published port are there
with their DNAT: the reply direction's source is the container's address and port."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

TABLE = Path("/proc/net/nf_conntrack")
FINISHED = frozenset({"TIME_WAIT", "CLOSE"})  # nothing left to deliver either way


def read() -> str | None:
    """The table's text; None when this kernel does not show it (no conntrack procfs)."""
    try:
        return TABLE.read_text()
    except OSError:
        return None


def open_to(table: str, ips: Collection[str], ports: Collection[int]) -> int:
    """TCP connections in `table` answered from one of `ips` on one of `ports` that have not finished
    (a SYN not yet answered counts: its retransmission would go to the same container)."""
    count = 0
    for line in table.splitlines():
        fields = line.split()
        # "ipv4 2 tcp 6 <timeout> <STATE> src=.. dst=.. sport=.. dport=.. src=.. dst=.. sport=.. dport=.. ..."
        if len(fields) < 6 or fields[2] != "tcp" or fields[5] in FINISHED:
            continue
        pairs = [f.split("=", 1) for f in fields[6:] if "=" in f]
        sources = [v for k, v in pairs if k == "src"]
        sports = [v for k, v in pairs if k == "sport"]
        if len(sources) > 1 and len(sports) > 1 and sources[1] in ips and sports[1].isdigit():
            count += int(sports[1]) in ports
    return count

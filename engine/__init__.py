"""The embedded container engine: a daemon serving the Docker Engine API."""

__version__ = "0.1.0"

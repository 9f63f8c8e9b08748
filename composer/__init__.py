"""composer: a declarative multi-container tool (the client side)."""

__version__ = "0.1.0"

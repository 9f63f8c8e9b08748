"""composer: a declarative multi-container tool (the client side)."""

__version__ = "0.1.0"

# dataclasses' generated methods compiled once, not at every start (see composer._codecache)
from composer._codecache import install as _install_code_cache  # noqa: E402

_install_code_cache()

"""The embedded container engine: a daemon serving the Docker Engine API."""

from engine.util.deferred import defer

__version__ = "0.1.0"

# Every engine process (the daemon, the runtime zygote, the archive server) imports dataclasses, which
# imports inspect (~1 MiB with ast, dis and tokenize) for a call it makes only for a class without a
# docstring: inspect is loaded when something first uses it (engine.util.deferred).
defer("inspect")

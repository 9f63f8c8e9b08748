"""Docker contexts: which one is selected, and the endpoint (host + TLS material) it names.

Selection, as the docker CLI (and so Compose v2) does it:
  --context NAME (with -H it is an error) > -H > DOCKER_HOST > DOCKER_CONTEXT > currentContext in
  config.json > "default".
The "default" context is composer's own default: the embedded engine.

The store lives in the docker CLI's config directory:
  contexts/meta/<sha256(name)>/meta.json
      {"Name", "Metadata", "Endpoints": {"docker": {"Host", "SkipTLSVerify"}}}
  contexts/tls/<sha256(name)>/docker/ca.pem, cert.pem, key.pem (each optional)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from composer.dockercli import config
from composer.errors import ComposerError

DEFAULT = "default"
ENDPOINT = "docker"  # the endpoint a context's Engine API host is stored under


class ContextError(ComposerError):
    pass


@dataclass(frozen=True)
class TLSFiles:
    """A context's TLS material; any of the three may be absent."""

    ca: Path | None
    cert: Path | None
    key: Path | None


@dataclass(frozen=True)
class Endpoint:
    context: str
    host: str
    tls: TLSFiles | None = None
    skip_tls_verify: bool = False

    def tls_environ(self) -> dict[str, str]:
        """The TLS settings as the DOCKER_CERT_PATH/DOCKER_TLS_VERIFY pair the Engine client reads."""
        if self.tls is None:
            return {}
        folder = next(p for p in (self.tls.ca, self.tls.cert, self.tls.key) if p is not None).parent
        return {"DOCKER_CERT_PATH": str(folder), "DOCKER_TLS_VERIFY": "" if self.skip_tls_verify else "1"}


def selected_name(option: str | None, host_option: str | None, environ: Mapping[str, str]) -> str | None:
    """The context to use, or None when -H or DOCKER_HOST names the engine instead."""
    if option and host_option:
        raise ContextError("conflicting options: cannot specify both --host and --context")
    if option:
        return option
    if host_option or environ.get("DOCKER_HOST", "").strip():
        return None
    named = environ.get("DOCKER_CONTEXT", "").strip()
    if named:
        return named
    current = config.load(environ).get("currentContext")
    return current if isinstance(current, str) and current else DEFAULT


def context_id(name: str) -> str:
    import hashlib

    return hashlib.sha256(name.encode()).hexdigest()


def meta_path(name: str, environ: Mapping[str, str]) -> Path:
    return config.config_dir(environ) / "contexts" / "meta" / context_id(name) / "meta.json"


def tls_dir(name: str, environ: Mapping[str, str]) -> Path:
    return config.config_dir(environ) / "contexts" / "tls" / context_id(name) / ENDPOINT


def read(name: str, environ: Mapping[str, str]) -> Endpoint:
    """The endpoint stored for `name` (not "default": that one has no entry in the store)."""
    path = meta_path(name, environ)
    fail = f'Failed to initialize: unable to resolve docker endpoint: context "{name}"'
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise ContextError(f"{fail}: context not found: open {path}: no such file or directory") from None
    except OSError as exc:
        raise ContextError(f"{fail}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ContextError(f"{fail}: {path}: invalid JSON: {exc}") from None
    docker = ((meta.get("Endpoints") or {}) if isinstance(meta, dict) else {}).get(ENDPOINT) or {}
    host = docker.get("Host") if isinstance(docker, dict) else None
    if not isinstance(host, str) or not host:
        raise ContextError(f"{fail}: {path} has no docker endpoint host")
    folder = tls_dir(name, environ)
    files = [folder / f if (folder / f).is_file() else None for f in ("ca.pem", "cert.pem", "key.pem")]
    tls = TLSFiles(*files) if any(files) else None
    if tls is not None and (tls.cert is None or tls.key is None):
        # the Engine client takes TLS settings as a folder with a client certificate and key
        raise ContextError(f'{fail}: TLS material without a client certificate and key ({folder}) is not '
                           "supported by composer", hint="create the context with cert= and key= too")
    return Endpoint(name, host, tls, bool(docker.get("SkipTLSVerify")))


def write(name: str, host: str, description: str, environ: Mapping[str, str]) -> Path:
    """Create or replace context `name` pointing at `host` (no TLS), as `docker context create` stores it."""
    if name == DEFAULT:
        raise ContextError('"default" is a reserved context name')
    meta = {
        "Name": name,
        "Metadata": {"Description": description},
        "Endpoints": {ENDPOINT: {"Host": host, "SkipTLSVerify": False}},
    }
    path = meta_path(name, environ)
    config.write_atomic(path, json.dumps(meta, separators=(",", ":")).encode())
    return path

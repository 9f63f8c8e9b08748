"""Where credentials come from: the API's X-Registry-Auth header, or the user's docker config.json
(`auths` entries, or a credential helper named by `credHelpers`/`credsStore`, as the docker CLI does)."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from engine.errors import InvalidParameter
from engine.registry.auth import Credentials
from engine.registry.reference import DOCKER_HUB

log = logging.getLogger(__name__)

# The key Docker writes into config.json for Docker Hub, and the other spellings it accepts.
HUB_SERVER = "https://index.docker.io/v1/"
_HUB_KEYS = (HUB_SERVER, "index.docker.io", "docker.io", "registry-1.docker.io")
_HELPER_TIMEOUT = 30


def _decode_auth_field(value: str) -> tuple[str, str]:
    try:
        user, sep, password = base64.b64decode(value, validate=False).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"invalid auth entry in docker config: {exc}") from None
    if not sep:
        raise InvalidParameter("invalid auth entry in docker config: expected base64 of user:password")
    return user, password


def decode_registry_auth(header: str) -> Credentials | None:
    """The API's X-Registry-Auth header: base64url JSON {username,password,auth,identitytoken,...}."""
    if not header or header.strip() in ("", "e30=", "{}"):
        return None
    text = header.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidParameter("invalid X-Registry-Auth header: not base64url-encoded JSON") from None
    if not isinstance(data, dict):
        raise InvalidParameter("invalid X-Registry-Auth header: not a JSON object")
    # dockerd decodes it with Go's encoding/json, whose field names match case-insensitively: docker-py
    # sends what a credential helper returned as {"Username", "Password", "ServerAddress"}
    data = {str(key).lower(): value for key, value in data.items()}
    user, password = str(data.get("username") or ""), str(data.get("password") or "")
    if not user and data.get("auth"):
        user, password = _decode_auth_field(str(data["auth"]))
    creds = Credentials(
        user, password, str(data.get("identitytoken") or ""), str(data.get("registrytoken") or "")
    )
    return creds or None


def _host_of_key(key: str) -> str:
    """config.json keys come as 'host:port', 'https://host:port' or 'https://index.docker.io/v1/'."""
    if "://" in key:
        return urlsplit(key).netloc
    return key.split("/", 1)[0]


def default_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def load_config_credentials(host: str, path: Path | None = None) -> Credentials | None:
    """Credentials for `host` from config.json: its credential helper if one is named, else `auths`."""
    cfg = path or default_config_path()
    try:
        data = json.loads(cfg.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InvalidParameter(f"cannot read docker config {cfg}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidParameter(f"cannot read docker config {cfg}: not a JSON object")
    server = HUB_SERVER if host == DOCKER_HUB else host
    helpers = data.get("credHelpers") or {}
    helper = helpers.get(host) or (helpers.get(HUB_SERVER) if host == DOCKER_HUB else None)
    helper = helper or data.get("credsStore")
    if helper:
        return from_helper(str(helper), server)
    return _from_auths(data.get("auths") or {}, host)


def _from_auths(auths: dict[str, object], host: str) -> Credentials | None:
    wanted = set(_HUB_KEYS) if host == DOCKER_HUB else {host}
    for key, entry in auths.items():
        if key not in wanted and _host_of_key(key) not in wanted or not isinstance(entry, dict):
            continue
        user, password = str(entry.get("username") or ""), str(entry.get("password") or "")
        if entry.get("auth"):
            user, password = _decode_auth_field(str(entry["auth"]))
        creds = Credentials(
            user, password, str(entry.get("identitytoken") or ""), str(entry.get("registrytoken") or "")
        )
        if creds:
            return creds
    return None


def from_helper(helper: str, server: str) -> Credentials | None:
    """Ask `docker-credential-<helper> get` (server URL on stdin, JSON on stdout); None when it has none."""
    binary = shutil.which(f"docker-credential-{helper}")
    if binary is None:
        raise InvalidParameter(f"docker-credential-{helper} not found in PATH (named by the docker config)")
    try:
        done = subprocess.run(
            [binary, "get"], input=server.encode(), capture_output=True, timeout=_HELPER_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InvalidParameter(f"credential helper docker-credential-{helper} failed: {exc}") from None
    out = done.stdout.decode(errors="replace").strip()
    if done.returncode != 0:
        if "credentials not found" in out.lower():
            return None
        raise InvalidParameter(f"credential helper docker-credential-{helper} failed: {out[:200]}")
    try:
        answer = json.loads(out)
        user, secret = str(answer.get("Username") or ""), str(answer.get("Secret") or "")
    except (ValueError, AttributeError):
        raise InvalidParameter(f"credential helper docker-credential-{helper} gave no JSON") from None
    log.debug("credentials from helper helper=%s server=%s", helper, server)
    if user == "<token>":  # the helper's way of storing an identity token
        return Credentials(identity_token=secret)
    return Credentials(user, secret) if user or secret else None

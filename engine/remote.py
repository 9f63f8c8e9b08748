"""Who may reach the engine: the TLS of its tcp listeners and the group of its unix sockets (dockerd's
--tls/--tlsverify/--tlscacert/--tlscert/--tlskey and -G/--group)."""

from __future__ import annotations

import grp
import logging
import os
import ssl
from pathlib import Path

from engine.config import ConfigError, TLSConfig

log = logging.getLogger(__name__)


def tls_context(tls: TLSConfig) -> ssl.SSLContext:
    """A server context as dockerd's: TLS 1.2 or newer; with `verify`, a client certificate signed by the CA
    is required (mutual TLS); with only a CA, a certificate is checked when the client offers one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(tls.cert), str(tls.key))
        if tls.ca is not None:
            ctx.load_verify_locations(cafile=str(tls.ca))
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"could not load TLS files ({tls.cert}, {tls.key}, {tls.ca}): {e}") from None
    if tls.verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
    elif tls.ca is not None:
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def socket_group(group: str, explicit: bool) -> int | None:
    """The gid the unix sockets get: -G/--group must exist; the default group only when it does."""
    if not group:
        return None
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        if group.isdigit():
            return int(group)
        if explicit:
            raise ConfigError(f"can't create unix socket: group {group} not found") from None
        log.info("socket group not found group=%s: the socket stays root's", group)
        return None


def hand_to_group(path: Path, gid: int | None) -> None:
    """Members of the group may use the engine (the socket is 0660): as good as root on this host."""
    if gid is not None:
        os.chown(path, 0, gid)

"""Daemon configuration: dockerd-like flags merged over a daemon.json-style config file.

Flags win over the file; the file wins over defaults. Bad input raises `ConfigError` with one line.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

DEFAULT_HOST = "unix:///run/composer/engine.sock"
DEFAULT_DATA_ROOT = Path("/var/lib/composer")
DEFAULT_EXEC_ROOT = Path("/run/composer")
DEFAULT_RUNTIME = "composer"  # the built-in runtime (engine.runtime with binary=None)

# daemon.json keys we understand; anything else is an error, as dockerd does.
_FILE_KEYS = {
    "hosts",
    "data-root",
    "exec-root",
    "pidfile",
    "debug",
    "registry-mirrors",
    "insecure-registries",
    "default-runtime",
    "runtimes",
    "log-driver",
    "log-opts",
    "log-level",
    "tls",
    "tlsverify",
    "tlscacert",
    "tlscert",
    "tlskey",
    "group",
    "userns-remap",
    "ipv6",
    "fixed-cidr-v6",
}
DEFAULT_GROUP = "composer"  # the socket's group when it exists (dockerd's is "docker")


class ConfigError(Exception):
    """A one-line explanation of bad flags or a bad config file."""


@dataclass(frozen=True)
class DaemonConfig:
    """The daemon's settings, from its flags and daemon.json (dockerd's names)."""

    hosts: tuple[str, ...] = (DEFAULT_HOST,)
    data_root: Path = DEFAULT_DATA_ROOT
    exec_root: Path = DEFAULT_EXEC_ROOT
    pidfile: Path | None = None  # None -> <exec-root>/engine.pid
    debug: bool = False
    registry_mirrors: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    default_runtime: str = DEFAULT_RUNTIME
    runtimes: dict[str, str] = field(default_factory=dict)  # name -> binary path ("runc" -> /usr/sbin/runc)
    log_driver: str = "json-file"  # the driver of containers that name none
    log_opts: dict[str, str] = field(default_factory=dict)  # that driver's defaults: max-size, max-file
    tls: TLSConfig | None = None  # tcp listeners speak TLS (with client certificates when .verify)
    group: str = DEFAULT_GROUP  # group of the unix sockets ("" : root's); the default only when it exists
    group_explicit: bool = False  # -G/--group or "group" given: a missing group is an error
    userns_remap: str = ""  # "default" or "user[:group]": container root is that user's subordinate ids
    fixed_cidr_v6: str = ""  # --ipv6 --fixed-cidr-v6: the default bridge's IPv6 subnet ("" : IPv4 only)

    @property
    def pid_path(self) -> Path:
        return self.pidfile if self.pidfile is not None else self.exec_root / "engine.pid"

    def socket_paths(self) -> list[Path]:
        return [Path(h[len("unix://") :]) for h in self.hosts if h.startswith("unix://")]

    @property
    def socket_activated(self) -> bool:
        """`-H fd://`: listen on the sockets systemd passed (engine.systemd)."""
        return "fd://" in self.hosts

    def tcp_addresses(self) -> list[tuple[str, int]]:
        """tcp://HOST:PORT listeners: with TLS when configured, else plain HTTP on loopback only."""
        out = []
        for h in self.hosts:
            if h.startswith("tcp://"):
                host, _, port = h[len("tcp://") :].rpartition(":")
                out.append((host.strip("[]"), int(port)))
        return out

    def runtime_binary(self, name: str | None = None) -> str | None:
        """The binary for a runtime name; None means the built-in runtime."""
        name = name or self.default_runtime
        if name in (DEFAULT_RUNTIME, "io.containerd.runc.v2") and name not in self.runtimes:
            return None
        if name not in self.runtimes:
            if name in ("runc", "crun"):
                return name  # found on PATH, as dockerd knows runc without configuration
            raise ConfigError(f"unknown runtime specified {name}")
        return self.runtimes[name]


@dataclass(frozen=True)
class TLSConfig:
    """dockerd's --tls/--tlsverify: the server's certificate and key; with `verify`, clients must present a
    certificate signed by `ca` (mutual TLS)."""

    cert: Path
    key: Path
    ca: Path | None
    verify: bool


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        raise ConfigError(f"{message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="composer-engine", description="Docker-API-compatible container engine")
    p.add_argument(
        "-H",
        "--host",
        action="append",
        dest="hosts",
        metavar="unix://PATH|tcp://HOST:PORT|fd://",
        help="socket to listen on (repeatable); tcp is unencrypted and unauthenticated; "
        "fd:// takes the sockets of systemd socket activation",
    )
    p.add_argument("--data-root", help=f"root of persistent state (default {DEFAULT_DATA_ROOT})")
    p.add_argument("--exec-root", help=f"root of runtime state (default {DEFAULT_EXEC_ROOT})")
    p.add_argument("-p", "--pidfile", help="path of the pid file (default <exec-root>/engine.pid)")
    p.add_argument("--config-file", help="daemon.json-style configuration file")
    p.add_argument("-D", "--debug", action="store_true", default=None, help="debug logging")
    p.add_argument(
        "--runtime",
        "--default-runtime",
        dest="default_runtime",
        help="default OCI runtime: 'composer' (built-in), 'runc', or a name from the config file",
    )
    p.add_argument("--add-runtime", action="append", metavar="NAME=PATH", help="register a runtime binary")
    p.add_argument("--registry-mirror", action="append", dest="registry_mirrors")
    p.add_argument("--insecure-registry", action="append", dest="insecure_registries")
    p.add_argument("--log-driver", help="default log driver of containers: json-file (default), local, none")
    p.add_argument(
        "--log-opt",
        action="append",
        dest="log_opts",
        metavar="KEY=VALUE",
        help="default log driver option (repeatable): max-size=10m, max-file=3",
    )
    p.add_argument(
        "-G", "--group", help=f"group of the unix socket (default {DEFAULT_GROUP!r} when it exists)"
    )
    p.add_argument(
        "--userns-remap",
        metavar="default|USER[:GROUP]",
        help="run containers in a user namespace mapped to the user's /etc/subuid and /etc/subgid ranges",
    )
    p.add_argument("--ipv6", action="store_true", default=None, help="IPv6 on the default bridge network")
    p.add_argument("--fixed-cidr-v6", help="the default bridge's IPv6 subnet (with --ipv6)")
    p.add_argument("--tls", action="store_true", default=None, help="serve tcp listeners over TLS")
    p.add_argument(
        "--tlsverify",
        action="store_true",
        default=None,
        help="TLS, and clients must present a certificate signed by --tlscacert (implies --tls)",
    )
    p.add_argument("--tlscacert", help="CA that signs the client certificates (default ~/.docker/ca.pem)")
    p.add_argument("--tlscert", help="the server's certificate (default ~/.docker/cert.pem)")
    p.add_argument("--tlskey", help="the server's key (default ~/.docker/key.pem)")
    return p


def _check_host(host: str, tls: TLSConfig | None) -> str:
    if host.startswith("tcp://"):
        rest = host[len("tcp://") :].rstrip("/")
        if rest and not rest.endswith("]") and ":" not in rest.rsplit("]", 1)[-1]:
            rest += ":2376" if tls else ":2375"  # dockerd's default ports
        addr, sep, port = rest.rpartition(":")
        if not sep or not addr or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"invalid host {host!r}: expected tcp://HOST:PORT")
        if not _loopback(addr.strip("[]")) and not (tls and tls.verify):
            raise ConfigError(
                f"invalid host {host!r}: a tcp listener on a non-loopback address needs --tlsverify "
                "(TLS with client certificates); without it only loopback addresses (127.0.0.1, ::1, "
                "localhost) are allowed"
            )
        return "tcp://" + rest
    if host.startswith("fd://"):
        if host != "fd://":
            raise ConfigError(f"invalid host {host!r}: only fd:// (every socket systemd passed) is supported")
        return host
    if not host.startswith("unix://") or len(host) <= len("unix://"):
        raise ConfigError(f"invalid host {host!r}: expected unix://PATH, tcp://HOST:PORT or fd://")
    path = host[len("unix://") :]
    if len(path.encode()) > 107:
        raise ConfigError(f"socket path too long (max 107 bytes): {path}")
    return host


def _loopback(addr: str) -> bool:
    if addr == "localhost":
        return True
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return False


def _kv_list(items: Sequence[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"invalid {what} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def _check_log_config(driver: str, opts: dict[str, str]) -> None:
    """dockerd refuses to start with a default log configuration no container could use."""
    from engine.containers.logconfig import DRIVERS, check_options
    from engine.errors import InvalidParameter

    if driver not in DRIVERS:
        raise ConfigError(f"failed to set log opts: logger: no log driver named '{driver}' is registered")
    try:
        check_options(driver, opts)
    except InvalidParameter as e:
        raise ConfigError(f"failed to set log opts: {e.message}") from None


def _load_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a JSON object")
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ConfigError(f"config file {path}: unknown option(s): {', '.join(unknown)}")
    return data


def _runtimes_from_file(value: Any, path: Path) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"config file {path}: runtimes must be an object")
    out: dict[str, str] = {}
    for name, spec in value.items():
        binary = spec.get("path") if isinstance(spec, dict) else None
        if not isinstance(binary, str) or not binary:
            raise ConfigError(f'config file {path}: runtime {name!r} needs a "path"')
        out[name] = binary
    return out


def parse(argv: Sequence[str]) -> DaemonConfig:
    """Flags (and the config file they name) -> DaemonConfig. Raises ConfigError on bad input."""
    args = _parser().parse_args(list(argv))
    file: dict[str, Any] = {}
    file_path = Path(args.config_file) if args.config_file else None
    if file_path is not None:
        file = _load_file(file_path)

    def pick(flag: Any, key: str, default: Any) -> Any:
        if flag is not None:
            return flag
        return file.get(key, default)

    hosts = args.hosts or file.get("hosts") or [DEFAULT_HOST]
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ConfigError("hosts must be a list of strings")
    runtimes = _runtimes_from_file(file["runtimes"], file_path) if "runtimes" in file and file_path else {}
    runtimes.update(_kv_list(args.add_runtime or [], "runtime"))
    default_runtime = str(pick(args.default_runtime, "default-runtime", DEFAULT_RUNTIME))
    if default_runtime in ("runc", "crun") and default_runtime not in runtimes:
        runtimes[default_runtime] = default_runtime
    log_opts = file.get("log-opts") or {}
    if not isinstance(log_opts, dict) or not all(isinstance(v, str) for v in log_opts.values()):
        raise ConfigError('log-opts must be an object of strings, e.g. {"max-size": "10m"}')
    log_opts = {**log_opts, **_kv_list(args.log_opts or [], "log-opt")}
    log_driver = str(pick(args.log_driver, "log-driver", "json-file"))
    _check_log_config(log_driver, log_opts)
    pidfile = pick(args.pidfile, "pidfile", None)
    tls = _tls(args, file)
    group = pick(args.group, "group", None)
    cfg = DaemonConfig(
        hosts=tuple(_check_host(h, tls) for h in hosts),
        data_root=Path(pick(args.data_root, "data-root", DEFAULT_DATA_ROOT)).absolute(),
        exec_root=Path(pick(args.exec_root, "exec-root", DEFAULT_EXEC_ROOT)).absolute(),
        pidfile=Path(pidfile).absolute() if pidfile else None,
        debug=bool(pick(args.debug, "debug", False)),
        registry_mirrors=tuple(pick(args.registry_mirrors, "registry-mirrors", [])),
        insecure_registries=tuple(pick(args.insecure_registries, "insecure-registries", [])),
        default_runtime=default_runtime,
        runtimes=runtimes,
        log_driver=log_driver,
        log_opts={str(k): str(v) for k, v in log_opts.items()},
        tls=tls,
        group=DEFAULT_GROUP if group is None else str(group),
        group_explicit=group is not None,
        userns_remap=str(pick(args.userns_remap, "userns-remap", "") or ""),
        fixed_cidr_v6=_fixed_cidr_v6(bool(pick(args.ipv6, "ipv6", False)),
                                     str(pick(args.fixed_cidr_v6, "fixed-cidr-v6", "") or "")),
    )
    cfg.runtime_binary()  # an unknown --default-runtime is a ConfigError at start, as with dockerd
    return cfg


def _fixed_cidr_v6(ipv6: bool, cidr: str) -> str:
    """The default bridge's IPv6 subnet, checked as dockerd checks it at start."""
    if not ipv6:
        if cidr:
            raise ConfigError("--fixed-cidr-v6 needs --ipv6 (IPv6 on the default bridge network)")
        return ""
    if not cidr:
        raise ConfigError(
            "Error initializing network controller: IPv6 is enabled for the default bridge, but no subnet is "
            "configured. Specify an IPv6 subnet using --fixed-cidr-v6"
        )
    try:
        net = ipaddress.IPv6Network(cidr, strict=False)
    except ValueError:
        raise ConfigError(f"invalid --fixed-cidr-v6 {cidr!r}: expected an IPv6 subnet") from None
    if net.prefixlen > 126:
        raise ConfigError(f"invalid --fixed-cidr-v6 {cidr!r}: the subnet is too small")
    return str(net)


def _tls(args: argparse.Namespace, file: dict[str, Any]) -> TLSConfig | None:
    """dockerd's rules: --tlsverify implies --tls; the files default to DOCKER_CERT_PATH or ~/.docker."""
    verify = bool(args.tlsverify if args.tlsverify is not None else file.get("tlsverify", False))
    on = verify or bool(args.tls if args.tls is not None else file.get("tls", False))
    if not on:
        return None
    base = Path(os.environ.get("DOCKER_CERT_PATH") or Path.home() / ".docker")

    def path(flag: str | None, key: str, default: str) -> Path:
        value = flag if flag is not None else file.get(key)
        return Path(value).expanduser().absolute() if value else base / default

    tls = TLSConfig(
        cert=path(args.tlscert, "tlscert", "cert.pem"),
        key=path(args.tlskey, "tlskey", "key.pem"),
        ca=path(args.tlscacert, "tlscacert", "ca.pem")
        if verify or args.tlscacert or file.get("tlscacert")
        else None,
        verify=verify,
    )
    for what, p in (("certificate", tls.cert), ("key", tls.key), ("CA certificate", tls.ca)):
        if p is not None and not p.is_file():
            raise ConfigError(f"could not read TLS {what} {p}: no such file")
    return tls

"""Dockerfile-style `--change` lines applied to an image config (`docker import`, `docker commit`)."""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from typing import Any

from engine.errors import InvalidParameter

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "STOPSIGNAL", "USER",
           "VOLUME", "WORKDIR")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
       "h": 3_600_000_000_000}


def _json_or_shell(args: str) -> list[str]:
    """Exec form (a JSON array of strings) or shell form (wrapped in /bin/sh -c)."""
    text = args.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            return parsed
    return ["/bin/sh", "-c", text]


def _pairs(instruction: str, args: str) -> list[tuple[str, str]]:
    """`K=V K2="v 2"` or the legacy single `K V` form."""
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise InvalidParameter(f"{instruction}: {exc}") from None
    if not words:
        raise InvalidParameter(f"{instruction} requires at least one argument")
    if "=" not in words[0]:
        key, _, value = args.strip().partition(" ")
        if not value.strip():
            raise InvalidParameter(f"{instruction} must have two arguments")
        return [(key, value.strip())]
    out = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InvalidParameter(f"{instruction} names can not be blank")
        out.append((key, value))
    return out


def _duration_ns(text: str) -> int:
    if not re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+", text):
        raise InvalidParameter(f"invalid duration: {text!r}")
    return int(sum(float(n) * _NS[u] for n, u in _DURATION_PART.findall(text)))


def _healthcheck(args: str) -> dict[str, Any]:
    words = args.split()
    if words and words[0].upper() == "NONE":
        return {"Test": ["NONE"]}
    check: dict[str, Any] = {}
    while words and words[0].startswith("--"):
        flag, _, value = words.pop(0)[2:].partition("=")
        if flag == "retries":
            check["Retries"] = int(value)
        elif flag in ("interval", "timeout", "start-period", "start-interval"):
            key = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
                   "start-interval": "StartInterval"}[flag]
            check[key] = _duration_ns(value)
        else:
            raise InvalidParameter(f"unknown flag: --{flag}")
    if not words or words[0].upper() != "CMD":
        raise InvalidParameter("HEALTHCHECK requires CMD or NONE")
    command = args[args.upper().index("CMD") + 3:].strip()
    cmd = _json_or_shell(command)
    check["Test"] = ["CMD-SHELL", command] if cmd[:2] == ["/bin/sh", "-c"] else ["CMD", *cmd]
    return check


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Return a copy of a container config (`Env`, `Cmd`, ...) with the change lines applied."""
    out = json.loads(json.dumps(config))
    for line in changes:
        line = line.strip()
        if not line:
            continue
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        args = args.strip()
        if instruction not in ALLOWED:
            raise InvalidParameter(f"{instruction} is not a valid change command")
        if instruction == "CMD":
            out["Cmd"] = _json_or_shell(args)
        elif instruction == "ENTRYPOINT":
            out["Entrypoint"] = _json_or_shell(args)
            out["Cmd"] = None  # as in a Dockerfile, ENTRYPOINT resets an inherited CMD
        elif instruction == "ENV":
            env = [e for e in out.get("Env") or []]
            for key, value in _pairs("ENV", args):
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={value}"]
            out["Env"] = env
        elif instruction == "LABEL":
            labels = dict(out.get("Labels") or {})
            labels.update(_pairs("LABEL", args))
            out["Labels"] = labels
        elif instruction == "EXPOSE":
            ports = dict(out.get("ExposedPorts") or {})
            for port in args.split():
                number, _, proto = port.partition("/")
                if not number.replace("-", "").isdigit():
                    raise InvalidParameter(f"invalid containerPort: {number}")
                ports[f"{number}/{(proto or 'tcp').lower()}"] = {}
            out["ExposedPorts"] = ports
        elif instruction == "VOLUME":
            volumes = dict(out.get("Volumes") or {})
            paths = json.loads(args) if args.startswith("[") else args.split()
            for path in paths:
                volumes[path] = {}
            out["Volumes"] = volumes
        elif instruction == "WORKDIR":
            out["WorkingDir"] = posixpath.join(out.get("WorkingDir") or "/", args)
        elif instruction == "USER":
            out["User"] = args
        elif instruction == "STOPSIGNAL":
            out["StopSignal"] = args
        elif instruction == "ONBUILD":
            out["OnBuild"] = [*(out.get("OnBuild") or []), args]
        elif instruction == "HEALTHCHECK":
            out["Healthcheck"] = _healthcheck(args)
    return out

"""The metadata instructions: how ENV, LABEL, CMD, ENTRYPOINT, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL,
HEALTHCHECK, SHELL and ONBUILD change an image's `config` (Docker's container Config shape)."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from engine.build.dockerfile import Instruction
from engine.build.expand import expand, expand_words, split_raw
from engine.errors import InvalidParameter

DEFAULT_SHELL = ["/bin/sh", "-c"]
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def env_dict(config: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in config.get("Env") or []:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def set_env(config: dict[str, Any], key: str, value: str) -> None:
    env = [e for e in (config.get("Env") or []) if e.partition("=")[0] != key]
    env.append(f"{key}={value}")
    config["Env"] = env


def key_values(ins: Instruction, env: Mapping[str, str], escape: str) -> list[tuple[str, str]]:
    """ENV/LABEL/ARG argument lists: `k=v k2="v 2"` or the legacy single `k v` form."""
    words = split_raw(ins.rest, escape)
    if not words:
        raise InvalidParameter(
            f"Dockerfile parse error line {ins.line}: {ins.cmd} requires at least one argument"
        )
    if "=" not in words[0]:
        if len(words) < 2:
            raise InvalidParameter(
                f"Dockerfile parse error line {ins.line}: {ins.cmd} must have two arguments"
            )
        key, _, value = ins.rest.strip().partition(" ")
        return [(key, expand(value.strip(), env, escape))]
    pairs = []
    for w in words:
        if "=" not in w:
            raise InvalidParameter(
                f"Dockerfile parse error line {ins.line}: Syntax error - can't find = in "
                f"{w!r}. Must be of the form: name=value"
            )
        k, _, v = w.partition("=")
        pairs.append((expand(k, env, escape), expand(v, env, escape)))
    return pairs


def arg_decls(ins: Instruction, env: Mapping[str, str], escape: str) -> list[tuple[str, str | None]]:
    """`ARG a b=1 c="x y"`: each name with its default, None when it has none."""
    out: list[tuple[str, str | None]] = []
    for w in split_raw(ins.rest, escape):
        name, sep, value = w.partition("=")
        if not name or not all(ch.isalnum() or ch == "_" for ch in name):
            raise InvalidParameter(f"Dockerfile parse error line {ins.line}: invalid ARG name {name!r}")
        out.append((name, expand(value, env, escape) if sep else None))
    return out


def command(ins: Instruction, shell: list[str]) -> list[str]:
    """CMD/ENTRYPOINT/RUN argv: the JSON form verbatim, the shell form wrapped in SHELL."""
    if ins.json_args is not None:
        return list(ins.json_args)
    return [*shell, ins.rest]


def duration_ns(text: str, line: int) -> int:
    pos, total = 0, 0
    for m in _DURATION_RE.finditer(text):
        if m.start() != pos:
            break
        total += int(float(m.group(1)) * _UNITS[m.group(2)])
        pos = m.end()
    if pos != len(text) or not text:
        raise InvalidParameter(f"Dockerfile parse error line {line}: time: invalid duration {text!r}")
    return total


def apply(
    ins: Instruction, config: dict[str, Any], env: Mapping[str, str], escape: str, shell: list[str]
) -> str:
    """Apply one metadata instruction to `config`; returns the text for history/cache (`ENV A=b`)."""
    cmd = ins.cmd
    if cmd == "ENV":
        pairs = key_values(ins, env, escape)
        for k, v in pairs:
            set_env(config, k, v)
        return "ENV " + " ".join(f"{k}={v}" for k, v in pairs)
    if cmd in ("LABEL", "MAINTAINER"):
        pairs = key_values(ins, env, escape) if cmd == "LABEL" else []
        if cmd == "MAINTAINER":
            return "MAINTAINER " + ins.rest
        labels = dict(config.get("Labels") or {})
        labels.update(pairs)
        config["Labels"] = labels
        return "LABEL " + " ".join(f"{k}={v}" for k, v in pairs)
    if cmd in ("CMD", "ENTRYPOINT"):
        argv = command(ins, shell) if ins.rest else []
        if cmd == "ENTRYPOINT":
            config["Entrypoint"] = argv or None
        else:
            config["Cmd"] = argv or None
        if ins.json_args is None and ins.rest:
            config["ArgsEscaped"] = True
        return f"{cmd} {json.dumps(argv)}"
    if cmd == "EXPOSE":
        ports = dict(config.get("ExposedPorts") or {})
        for word in expand_words(ins.rest, env, escape):
            port, _, proto = word.partition("/")
            proto = (proto or "tcp").lower()
            if (
                not port
                or not all(p.isdigit() for p in port.split("-"))
                or proto not in ("tcp", "udp", "sctp")
            ):
                raise InvalidParameter(f"Dockerfile parse error line {ins.line}: invalid port {word!r}")
            ports[f"{port}/{proto}"] = {}
        config["ExposedPorts"] = ports
        return "EXPOSE " + " ".join(sorted(ports))
    if cmd == "VOLUME":
        paths = list(ins.json_args) if ins.json_args is not None else expand_words(ins.rest, env, escape)
        volumes = dict(config.get("Volumes") or {})
        for p in paths:
            p = expand(p, env, escape) if ins.json_args is not None else p
            if not p.strip():
                raise InvalidParameter(
                    f"Dockerfile parse error line {ins.line}: VOLUME specified can not be an empty string"
                )
            volumes[p] = {}
        config["Volumes"] = volumes
        return "VOLUME " + json.dumps(paths)
    if cmd == "USER":
        config["User"] = expand(ins.rest, env, escape)
        return "USER " + config["User"]
    if cmd == "WORKDIR":
        path = expand(ins.rest, env, escape)
        config["WorkingDir"] = posixpath.normpath(posixpath.join(config.get("WorkingDir") or "/", path))
        return "WORKDIR " + config["WorkingDir"]
    if cmd == "STOPSIGNAL":
        config["StopSignal"] = expand(ins.rest, env, escape)
        return "STOPSIGNAL " + config["StopSignal"]
    if cmd == "SHELL":
        if ins.json_args is None or not ins.json_args:
            raise InvalidParameter(
                f"Dockerfile parse error line {ins.line}: SHELL requires the arguments to be in JSON form"
            )
        config["Shell"] = list(ins.json_args)
        return "SHELL " + json.dumps(config["Shell"])
    if cmd == "ONBUILD":
        word = ins.rest.split(" ", 1)[0].upper()
        if word in ("ONBUILD", "FROM", "MAINTAINER"):
            raise InvalidParameter(
                f"Dockerfile parse error line {ins.line}: {word} isn't allowed as an ONBUILD trigger"
            )
        config["OnBuild"] = [*(config.get("OnBuild") or []), ins.rest]
        return "ONBUILD " + ins.rest
    if cmd == "HEALTHCHECK":
        return _healthcheck(ins, config, shell)
    raise InvalidParameter(f"Dockerfile parse error line {ins.line}: unexpected {cmd}")


def _healthcheck(ins: Instruction, config: dict[str, Any], shell: list[str]) -> str:
    word, _, rest = ins.rest.partition(" ")
    if word.upper() == "NONE":
        if rest.strip() or ins.flags:
            raise InvalidParameter(
                f"Dockerfile parse error line {ins.line}: HEALTHCHECK NONE takes no arguments"
            )
        config["Healthcheck"] = {"Test": ["NONE"]}
        return "HEALTHCHECK NONE"
    if word.upper() != "CMD":
        raise InvalidParameter(
            f"Dockerfile parse error line {ins.line}: Unknown type {word!r} in HEALTHCHECK (try CMD)"
        )
    rest = rest.strip()
    sub = Instruction("CMD", rest, {}, ins.line, rest, _json(rest))
    test = ["CMD", *sub.json_args] if sub.json_args is not None else ["CMD-SHELL", rest]
    hc: dict[str, Any] = {"Test": test}
    for flag, key in (
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start-period", "StartPeriod"),
        ("start-interval", "StartInterval"),
    ):
        if ins.flag(flag):
            hc[key] = duration_ns(ins.flag(flag), ins.line)
    if ins.flag("retries"):
        try:
            hc["Retries"] = int(ins.flag("retries"))
        except ValueError:
            raise InvalidParameter(f"Dockerfile parse error line {ins.line}: invalid --retries") from None
    config["Healthcheck"] = hc
    return "HEALTHCHECK " + json.dumps(hc)


def _json(rest: str) -> tuple[str, ...] | None:
    try:
        v = json.loads(rest)
    except ValueError:
        return None
    return tuple(v) if isinstance(v, list) and all(isinstance(x, str) for x in v) else None

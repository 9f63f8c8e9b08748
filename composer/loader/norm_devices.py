"""Device-ish service settings: devices, gpus/device requests, blkio_config, ulimits, label files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from composer.canonical.units import UnitError, canonical_bytes, scalar_str, to_int
from composer.loader.inputs import note


class DeviceError(ValueError):
    pass


def devices(value: list[Any]) -> list[dict[str, Any]]:
    """ "src[:dst[:perms]]" -> {source, target, permissions} (perms default rwm); long form as given."""
    result = []
    for item in value:
        if isinstance(item, dict):
            result.append(dict(item))
            continue
        parts = str(item).split(":")
        if len(parts) > 3:
            raise DeviceError(f"confusing device mapping, please use long syntax: {item}")
        source = parts[0]
        target = parts[1] if len(parts) > 1 and parts[1] else source
        perms = parts[2] if len(parts) == 3 else "rwm"
        result.append({"source": source, "target": target, "permissions": perms})
    return result


def device_request(value: dict[str, Any]) -> dict[str, Any]:
    """A GPU/device reservation: count "all" is -1; neither count nor ids means all."""
    request = dict(value)
    if "count" not in request and "device_ids" not in request:
        request["count"] = "all"
    if "count" in request:
        count = request["count"]
        request["count"] = -1 if str(count) == "all" else to_int(count)
    if "options" in request:
        request["options"] = {k: scalar_str(v) for k, v in request["options"].items()}
    return request


def gpus(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"count": -1}]
    return [device_request(item) for item in value]


def _get(entry: dict[str, Any], key: str) -> Any:
    """Device entries as users write them (`path`) or as we print them (`Path`, from a YAML round trip)."""
    return entry.get(key, entry.get(key.capitalize()))


def blkio(value: dict[str, Any]) -> dict[str, Any]:
    """Device entries are printed with Go's field names (Path, Rate, Weight): they carry no tags."""
    config = dict(value)
    if "weight" in config:
        config["weight"] = to_int(config["weight"])
    if "weight_device" in config:
        config["weight_device"] = [
            {"Path": _get(d, "path"), "Weight": to_int(_get(d, "weight") or 0)}
            for d in config["weight_device"]
        ]
    for key in ("device_read_bps", "device_read_iops", "device_write_bps", "device_write_iops"):
        if key in config:
            try:
                config[key] = [
                    {"Path": _get(d, "path"), "Rate": canonical_bytes(_get(d, "rate") or 0)}
                    for d in config[key]
                ]
            except UnitError as exc:
                raise DeviceError(str(exc)) from exc
    return config


def ulimits(value: dict[str, Any]) -> dict[str, Any]:
    """A number stays a number; zero values print as an empty object, as the reference does."""
    result: dict[str, Any] = {}
    for name, limit in value.items():
        if isinstance(limit, dict):
            result[name] = {k: to_int(v) for k, v in limit.items() if to_int(v) != 0}
        else:
            number = to_int(limit)
            result[name] = number if number != 0 else {}
    return result


def read_label_files(paths: list[str]) -> dict[str, str]:
    """KEY=VALUE lines; comments, blank lines and value-less keys are skipped; later files win."""
    labels: dict[str, str] = {}
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
            note(path, text)
        except OSError as exc:
            raise DeviceError(f"failed to read label file {path}: {exc.strerror}") from exc
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, val = line.partition("=")
            if sep:
                labels[key.strip()] = val
    return labels

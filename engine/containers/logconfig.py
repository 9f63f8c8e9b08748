"""A container's log configuration as dockerd settles it at create: the daemon's default driver when the
request names none, the daemon's `log-opts` filling the keys the request leaves out when the container uses
the daemon's driver (so `docker inspect` shows them, and a later change of the daemon's defaults does not
touch existing containers), and option names checked against the driver."""

from __future__ import annotations

from typing import Any

from engine.errors import InvalidParameter
from engine.runtime.logfile import parse_size

DRIVERS = ("json-file", "local", "none")
# the json-file options dockerd accepts; we honour max-size and max-file (rotation) and refuse the others
# by name rather than ignore them
JSON_FILE_OPTS = ("max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag")
HONOURED_OPTS = ("max-size", "max-file")


def check_options(driver: str, opts: dict[str, Any]) -> None:
    """InvalidParameter, worded as dockerd's, for an option the driver does not take or a bad value."""
    if driver == "none":
        if opts:
            raise InvalidParameter(f"unknown log opt '{sorted(opts)[0]}' for none log driver")
        return
    for key in opts:
        if key not in JSON_FILE_OPTS:
            raise InvalidParameter(f"unknown log opt '{key}' for {driver} log driver")
        if key not in HONOURED_OPTS:
            raise InvalidParameter(f"log opt '{key}' is not supported by this engine's {driver} log driver")
    if "max-size" in opts:
        try:
            size = parse_size(opts["max-size"])
        except ValueError:
            raise InvalidParameter(f"invalid size: '{opts['max-size']}'") from None
        if size <= 0:
            raise InvalidParameter("max-size must be a positive number")
    max_file = str(opts.get("max-file") or "1")
    if not max_file.lstrip("-").isdigit():
        raise InvalidParameter(f'strconv.Atoi: parsing "{max_file}": invalid syntax')
    if int(max_file) < 1:
        raise InvalidParameter("max-file cannot be less than 1")


def settle(
    log_config: dict[str, Any] | None, default_driver: str, default_opts: dict[str, str]
) -> dict[str, Any]:
    """The LogConfig a new container records (dockerd's mergeAndVerifyLogConfig)."""
    log_config = log_config or {}
    driver = log_config.get("Type") or default_driver
    opts = {str(k): str(v) for k, v in (log_config.get("Config") or {}).items()}
    if driver == default_driver:
        for key, value in default_opts.items():
            opts.setdefault(key, value)
    check_options(driver, opts)
    return {"Type": driver, "Config": opts}

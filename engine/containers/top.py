"""`docker top`: run the host's ps with the user's arguments and keep the container's processes,
as dockerd does."""

from __future__ import annotations

import subprocess

from engine.errors import InvalidParameter, SystemError_


def top(pids: list[int], ps_args: str) -> dict[str, list]:
    args = ps_args.split() if ps_args else ["-ef"]
    try:
        out = subprocess.run(["ps", *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SystemError_(f"ps: {e}") from None
    if out.returncode != 0:
        raise InvalidParameter(f"Error running ps: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    if not lines:
        return {"Titles": [], "Processes": []}
    titles = lines[0].split()
    if "PID" not in titles:
        raise InvalidParameter("Couldn't find PID field in ps output")
    pid_col = titles.index("PID")
    wanted = set(pids)
    processes = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) <= pid_col:
            continue
        try:
            pid = int(fields[pid_col])
        except ValueError:
            continue
        if pid in wanted:
            processes.append(fields)
    return {"Titles": titles, "Processes": processes}

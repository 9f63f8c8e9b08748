"""Container cgroups on both hierarchies: v1 (one mount per controller) and v2 (unified).

The version is detected from what is mounted at /sys/fs/cgroup: cgroup2 there means a v2-only host;
otherwise the v1 controller mounts are used (a hybrid host's extra cgroup2 mount is ignored, as its
controllers are the v1 ones that matter).

Device rules: v1 writes them to the devices controller; v2 has none, so they become an eBPF program
attached to the cgroup (engine.runtime.bpf_device / bpf_load), as runc does.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from functools import cache
from pathlib import Path

from engine._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
_V2_CONTROLLERS = ("cpuset", "cpu", "io", "memory", "pids")


@cache
def detect_version() -> int:
    return 2 if (CGROUP_ROOT / "cgroup.controllers").exists() else 1


@cache
def v1_hierarchies() -> dict[str, Path]:
    """Controller (or name=) -> mount point, from this process's mountinfo."""
    found: dict[str, Path] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            if len(rfields) < 3 or rfields[0] != "cgroup":
                continue
            mountpoint = Path(fields[4])
            for opt in rfields[2].split(","):
                if opt in ("rw", "ro") or ("=" in opt and not opt.startswith("name=")):
                    continue
                found.setdefault(opt, mountpoint)
    return found


@cache
def hybrid_unified_mounts() -> tuple[Path, ...]:
    """cgroup2 mounts beside the v1 ones (e.g. /sys/fs/cgroup/unified); none on a v2-only host."""
    if detect_version() == 2:
        return ()
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[:1] == ["cgroup2"]:
                found.append(Path(left.split()[4]))
    return tuple(found)


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: Path, default: str = "") -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return default


def _kv(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


class Cgroup:
    """One container's cgroup, addressed by the OCI cgroupsPath (e.g. "/composer/<id>")."""

    def __init__(self, path: str, root: Path | None = None) -> None:
        """`root` names a cgroup2 mount to use as a v2 hierarchy (e.g. a hybrid host's unified mount);
        by default the host's own layout decides."""
        self.rel = path.strip("/")
        self.root = root or CGROUP_ROOT
        self.version = 2 if root is not None else detect_version()

    # --- where it lives ---
    def dirs(self) -> dict[str, Path]:
        """Hierarchy name -> this cgroup's directory (one entry, "unified", on v2)."""
        if self.version == 2:
            return {"unified": self.root / self.rel}
        seen: dict[Path, str] = {}
        for name, mount in v1_hierarchies().items():
            seen.setdefault(mount, name)
        return {name: mount / self.rel for mount, name in seen.items()}

    def all_dirs(self) -> list[Path]:
        """dirs() plus, on a hybrid host, the cgroup2 mount's dir (runc makes one there; we remove it)."""
        extra = [mount / self.rel for mount in hybrid_unified_mounts() if mount != self.root]
        return [*self.dirs().values(), *extra]

    def _dir(self, controller: str) -> Path | None:
        if self.version == 2:
            return self.root / self.rel
        mount = v1_hierarchies().get(controller)
        return mount / self.rel if mount else None

    def procs_file(self) -> Path:
        d = self._dir("pids") or self._dir("memory") or next(iter(self.dirs().values()))
        return d / "cgroup.procs"

    # --- lifecycle ---
    def create(self, resources: dict[str, Any]) -> None:
        if self.version == 2:
            self._create_v2()
        else:
            for name, d in self.dirs().items():
                d.mkdir(parents=True, exist_ok=True)
                if name == "cpuset":
                    self._init_cpuset(d)
        self.apply(resources)

    def _init_cpuset(self, d: Path) -> None:
        # A new v1 cpuset is empty and refuses tasks: copy each empty level's cpus/mems down from its parent.
        chain = []
        p = d
        mount = v1_hierarchies()["cpuset"]
        while p != mount:
            chain.append(p)
            p = p.parent
        for level in reversed(chain):
            for f in ("cpuset.cpus", "cpuset.mems"):
                if not _read(level / f):
                    _write(level / f, _read(level.parent / f))

    def _create_v2(self) -> None:
        available = set(_read(self.root / "cgroup.controllers").split())
        wanted = " ".join(f"+{c}" for c in _V2_CONTROLLERS if c in available)
        p = self.root
        for part in self.rel.split("/"):
            if wanted:
                try:
                    _write(p / "cgroup.subtree_control", wanted)
                except OSError as e:
                    log.debug("subtree_control not writable path=%s err=%s", p, e)
            p = p / part
            p.mkdir(exist_ok=True)

    def apply(self, resources: dict[str, Any]) -> None:
        if self.version == 2:
            self._apply_v2(resources)
        else:
            self._apply_v1(resources)

    def _apply_v1(self, res: dict[str, Any]) -> None:
        mem, cpu, pids = res.get("memory") or {}, res.get("cpu") or {}, res.get("pids") or {}
        m = self._dir("memory")
        if m is not None:
            self._memory_v1(m, mem)
            if "reservation" in mem:
                _write(m / "memory.soft_limit_in_bytes", str(mem["reservation"]))
            if "swappiness" in mem:
                _write(m / "memory.swappiness", str(mem["swappiness"]))
            if mem.get("disableOOMKiller"):
                _write(m / "memory.oom_control", "1")
        c = self._dir("cpu")
        if c is not None:
            if "shares" in cpu:
                _write(c / "cpu.shares", str(cpu["shares"]))
            if "period" in cpu:
                _write(c / "cpu.cfs_period_us", str(cpu["period"]))
            if "quota" in cpu:
                _write(c / "cpu.cfs_quota_us", str(cpu["quota"]))
        s = self._dir("cpuset")
        if s is not None:
            if cpu.get("cpus"):
                _write(s / "cpuset.cpus", cpu["cpus"])
            if cpu.get("mems"):
                _write(s / "cpuset.mems", cpu["mems"])
        p = self._dir("pids")
        if p is not None and "limit" in pids:
            _write(p / "pids.max", str(pids["limit"]) if pids["limit"] > 0 else "max")
        d = self._dir("devices")
        if d is not None and res.get("devices"):
            for rule in res["devices"]:
                kind = rule.get("type", "a")
                major = rule.get("major", "*")
                minor = rule.get("minor", "*")
                line = (
                    "a"
                    if kind == "a" or ("type" not in rule)
                    else f"{kind} {major}:{minor} {rule.get('access', 'rwm')}"
                )
                _write(d / ("devices.allow" if rule.get("allow") else "devices.deny"), line)

    @staticmethod
    def _memory_v1(m: Path, mem: dict[str, Any]) -> None:
        """The kernel keeps memory <= memory+swap at every step: raise memsw first when the new limit is
        above the current memsw, else set the limit first. memsw exists only with swap accounting."""
        memsw = m / "memory.memsw.limit_in_bytes"
        swap = mem.get("swap") if memsw.exists() else None
        limit = mem.get("limit")
        current_memsw = int(_read(memsw, "-1") or -1) if swap is not None else -1
        swap_first = swap is not None and limit is not None and (swap == -1 or 0 <= current_memsw < limit)
        if swap_first:
            _write(memsw, str(swap))
        if limit is not None:
            _write(m / "memory.limit_in_bytes", str(limit))
        if swap is not None and not swap_first:
            _write(memsw, str(swap))

    def _apply_v2(self, res: dict[str, Any]) -> None:
        d = self.root / self.rel
        mem, cpu, pids = res.get("memory") or {}, res.get("cpu") or {}, res.get("pids") or {}
        if "limit" in mem:
            _write(d / "memory.max", str(mem["limit"]))
            if "swap" in mem and (d / "memory.swap.max").exists():
                swap = mem["swap"]
                _write(d / "memory.swap.max", "max" if swap < 0 else str(max(swap - mem["limit"], 0)))
        if "reservation" in mem:
            _write(d / "memory.low", str(mem["reservation"]))
        if "shares" in cpu:
            _write(d / "cpu.weight", str(1 + ((int(cpu["shares"]) - 2) * 9999) // 262142))
        if "quota" in cpu or "period" in cpu:
            quota = cpu.get("quota", -1)
            _write(d / "cpu.max", f"{'max' if quota <= 0 else quota} {cpu.get('period', 100000)}")
        if cpu.get("cpus"):
            _write(d / "cpuset.cpus", cpu["cpus"])
        if cpu.get("mems"):
            _write(d / "cpuset.mems", cpu["mems"])
        if "limit" in pids:
            _write(d / "pids.max", str(pids["limit"]) if pids["limit"] > 0 else "max")
        if res.get("devices"):
            self._devices_v2(d, res["devices"])

    @staticmethod
    def _devices_v2(d: Path, rules: list[dict[str, Any]]) -> None:
        # imported here: only v2 hosts need them, and every monitor (forked from the zygote) imports us
        from engine.runtime.bpf_device import device_program
        from engine.runtime.bpf_load import install_device_rules

        install_device_rules(str(d), device_program(rules))
        log.debug("device program attached cgroup=%s rules=%d", d, len(rules))

    def chown(self, uid: int, gid: int) -> None:
        """Delegate a v2 cgroup to a remapped container's root: the directory and the files the kernel
        names delegatable (/sys/kernel/cgroup/delegate), as runc does for a user namespace, so the
        container may make and manage its own sub-cgroups. v1 is never delegated (nor by runc)."""
        if self.version != 2:
            return
        d = self.root / self.rel
        delegate = "cgroup.procs cgroup.threads cgroup.subtree_control"  # where the kernel has no list
        names = _read(Path("/sys/kernel/cgroup/delegate"), delegate)
        os.chown(d, uid, gid)
        for name in names.split():
            with contextlib.suppress(FileNotFoundError):
                os.chown(d / name, uid, gid)

    def join(self, pid: int) -> None:
        for d in self.dirs().values():
            if d.is_dir():
                _write(d / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        text = _read(self.procs_file())
        return [int(x) for x in text.split()] if text else []

    def exists(self) -> bool:
        return any(d.is_dir() for d in self.dirs().values())

    # --- freezer ---
    def freeze(self, frozen: bool) -> None:
        if self.version == 2:
            d = self.root / self.rel
            _write(d / "cgroup.freeze", "1" if frozen else "0")
            want = "frozen 1" if frozen else "frozen 0"
            for _ in range(1000):
                if want in _read(d / "cgroup.events"):
                    return
                time.sleep(0.002)
            return
        f = self._dir("freezer")
        if f is None:
            raise OSError(errno.ENOTSUP, "no freezer cgroup hierarchy")
        state = "FROZEN" if frozen else "THAWED"
        for _ in range(1000):
            _write(f / "freezer.state", state)
            if _read(f / "freezer.state") == state:
                return
            time.sleep(0.002)
        raise OSError(errno.EBUSY, f"freezer stuck writing {state}")

    def is_frozen(self) -> bool:
        if self.version == 2:
            return "frozen 1" in _read(self.root / self.rel / "cgroup.events")
        f = self._dir("freezer")
        return f is not None and _read(f / "freezer.state") == "FROZEN"

    def oom_killed(self) -> bool:
        if self.version == 2:
            return _kv(_read(self.root / self.rel / "memory.events")).get("oom_kill", 0) > 0
        m = self._dir("memory")
        if m is None:
            return False
        control = _kv(_read(m / "memory.oom_control"))
        if "oom_kill" in control:
            return control["oom_kill"] > 0
        return int(_read(m / "memory.failcnt", "0") or 0) > 0

    def destroy(self) -> None:
        """Remove the cgroup dirs (after killing what is left); gone already is fine. Parents are left alone:
        another container may be creating its cgroup beside ours."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        if self.is_frozen():
            self.freeze(False)
        for d in self.all_dirs():
            for _ in range(200):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY:
                        raise
                    time.sleep(0.005)

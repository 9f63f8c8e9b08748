"""engine.preflight: each missing host piece is named with its fix; a complete host has no problems."""

from __future__ import annotations

from engine.preflight import Host, problems

FILESYSTEMS = "nodev\tsysfs\nnodev\tproc\n\text4\nnodev\toverlay\n"
MOUNTS = "sysfs /sys sysfs rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"


def host(**changes: object) -> Host:
    base = {"euid": 0, "filesystems": FILESYSTEMS, "mounts": MOUNTS,
            "which": lambda name: f"/usr/sbin/{name}"}
    base.update(changes)
    return Host(**base)  # type: ignore[arg-type]


def test_a_complete_host_has_no_problems() -> None:
    assert problems(host()) == []


def test_each_missing_piece_is_named_with_its_fix() -> None:
    assert [str(p) for p in problems(host(euid=1000))] == [
        "the engine needs root (namespaces, mounts, cgroups, bridges) "
        "(fix: run it as root, e.g. `sudo composer engine start`)"
    ]
    no_overlay = problems(host(filesystems=FILESYSTEMS.replace("overlay", "ext3")))
    assert [p.fix for p in no_overlay] == [
        "load it with `modprobe overlay` (Linux >= 4.0 with CONFIG_OVERLAY_FS)"
    ]
    module = "kernel/fs/overlayfs/overlay.ko.xz:\n"  # not loaded yet, but the first mount loads it
    assert problems(host(filesystems=FILESYSTEMS.replace("overlay", "ext3"), modules=module)) == []
    no_cgroups = problems(host(mounts="sysfs /sys sysfs rw 0 0\n"))
    assert [p.missing for p in no_cgroups] == [
        "no cgroup filesystem is mounted (needed for container limits)"
    ]
    no_nft = problems(host(which=lambda name: None if name == "nft" else "/bin/" + name))
    assert [str(p) for p in no_nft] == [
        "`nft` is not installed (needed for published ports and bridge networks) "
        "(fix: install it: `apt-get install nftables`)"
    ]


def test_cgroup_v1_mounts_count_and_every_problem_is_listed() -> None:
    assert problems(host(mounts="cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n")) == []
    everything = problems(Host(euid=1, filesystems="", mounts="", which=lambda name: None))
    assert len(everything) == 5


def test_a_checkout_without_its_monitor_needs_a_compiler_and_headers() -> None:
    assert problems(host(monitor_built=False)) == []  # cc found: the engine builds the monitor
    no_cc = problems(host(monitor_built=False, which=lambda name: None if name in ("cc", "gcc") else name))
    assert [str(p) for p in no_cc] == [
        "no C compiler (cc or gcc) to build the container monitor "
        "(fix: install one: `apt-get install gcc libc6-dev`)"
    ]
    no_headers = problems(host(monitor_built=False, c_headers=False))
    assert [str(p) for p in no_headers] == [
        "libc's C headers are not installed (needed to build the container monitor) "
        "(fix: install them: `apt-get install libc6-dev`)"
    ]
    # a packaged (or already built) monitor needs neither
    assert problems(host(which=lambda name: None if name in ("cc", "gcc") else name, c_headers=False)) == []

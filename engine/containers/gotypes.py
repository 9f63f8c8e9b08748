"""The Go types of a container create body, as dockerd's JSON decoder checks them.

A value of the wrong JSON type is refused before anything looks at it, with encoding/json's wording
(`json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64`), so
later code can trust `int(...)`, `.get(...)` and `.items()`. `null` is Go's zero value and always passes;
unknown keys are ignored, as Go ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import InvalidParameter


class Number(float):
    """A JSON number that was not a plain integer literal; keeps its text for the message ("1e400")."""

    text: str

    def __new__(cls, text: str) -> Number:
        self = super().__new__(cls, float(text))
        self.text = text
        return self


@dataclass(frozen=True)
class GoType:
    """A Go type of the Engine API's JSON, for `--format` templates' type errors."""

    name: str  # as Go prints it: "int64", "[]string", "container.HostConfig"
    kind: str  # "string" "bool" "int" "float" "slice" "map" "struct" "strslice" "any"
    elem: GoType | None = None  # slice and map values
    fields: dict[str, GoType] = field(default_factory=dict)  # struct fields by JSON key
    struct: str = ""  # a struct's bare name ("HostConfig"), the prefix of its fields' paths
    bits: int = 64


STRING = GoType("string", "string")
BOOL = GoType("bool", "bool")
INT = GoType("int", "int")
INT64 = GoType("int64", "int")
UINT16 = GoType("uint16", "int", bits=16)
UINT64 = GoType("uint64", "int", bits=65)  # unsigned: 0 .. 2**64-1
FLOAT = GoType("float64", "float")
ANY = GoType("interface {}", "any")
STRINGS = GoType("[]string", "slice", STRING)
STRSLICE = GoType("strslice.StrSlice", "strslice")  # a string or a list of strings
STRING_MAP = GoType("map[string]string", "map", STRING)
EMPTY = GoType("struct {}", "struct", struct="")
PORT_SET = GoType("nat.PortSet", "map", EMPTY)


def struct(name: str, **fields: GoType) -> GoType:
    return GoType(name, "struct", fields=fields, struct=name.rsplit(".", 1)[-1])


def slice_of(t: GoType) -> GoType:
    return GoType("[]" + t.name, "slice", t)


def map_of(t: GoType, name: str = "") -> GoType:
    return GoType(name or "map[string]" + t.name, "map", t)


ULIMIT = struct("units.Ulimit", Name=STRING, Hard=INT64, Soft=INT64)
PORT_BINDING = struct("nat.PortBinding", HostIp=STRING, HostPort=STRING)
DEVICE = struct(
    "container.DeviceMapping", PathOnHost=STRING, PathInContainer=STRING, CgroupPermissions=STRING
)
WEIGHT_DEVICE = struct("blkiodev.WeightDevice", Path=STRING, Weight=UINT16)
THROTTLE_DEVICE = struct("blkiodev.ThrottleDevice", Path=STRING, Rate=UINT64)
MOUNT = struct(
    "mount.Mount",
    Type=STRING,
    Source=STRING,
    Target=STRING,
    ReadOnly=BOOL,
    Consistency=STRING,
    BindOptions=struct("mount.BindOptions", Propagation=STRING, NonRecursive=BOOL),
    VolumeOptions=struct(
        "mount.VolumeOptions",
        NoCopy=BOOL,
        Labels=STRING_MAP,
        DriverConfig=struct("mount.Driver", Name=STRING, Options=STRING_MAP),
    ),
    TmpfsOptions=struct("mount.TmpfsOptions", SizeBytes=INT64, Mode=GoType("fs.FileMode", "int", bits=32)),
)
HEALTHCHECK = struct(
    "container.HealthConfig",
    Test=STRINGS,
    Interval=INT64,
    Timeout=INT64,
    StartPeriod=INT64,
    Retries=INT,
)

HOST_CONFIG = struct(
    "container.HostConfig",
    Binds=STRINGS,
    ContainerIDFile=STRING,
    LogConfig=struct("container.LogConfig", Type=STRING, Config=STRING_MAP),
    NetworkMode=STRING,
    PortBindings=map_of(slice_of(PORT_BINDING), "nat.PortMap"),
    RestartPolicy=struct("container.RestartPolicy", Name=STRING, MaximumRetryCount=INT),
    AutoRemove=BOOL,
    VolumeDriver=STRING,
    VolumesFrom=STRINGS,
    ConsoleSize=GoType("[2]uint", "slice", GoType("uint", "int", bits=65)),
    CapAdd=STRSLICE,
    CapDrop=STRSLICE,
    CgroupnsMode=STRING,
    Dns=STRINGS,
    DnsOptions=STRINGS,
    DnsSearch=STRINGS,
    ExtraHosts=STRINGS,
    GroupAdd=STRINGS,
    IpcMode=STRING,
    Cgroup=STRING,
    Links=STRINGS,
    OomScoreAdj=INT,
    PidMode=STRING,
    Privileged=BOOL,
    PublishAllPorts=BOOL,
    ReadonlyRootfs=BOOL,
    SecurityOpt=STRINGS,
    StorageOpt=STRING_MAP,
    Tmpfs=STRING_MAP,
    UTSMode=STRING,
    UsernsMode=STRING,
    ShmSize=INT64,
    Sysctls=STRING_MAP,
    Runtime=STRING,
    Isolation=STRING,
    CpuShares=INT64,
    Memory=INT64,
    NanoCpus=INT64,
    CgroupParent=STRING,
    BlkioWeight=UINT16,
    BlkioWeightDevice=slice_of(WEIGHT_DEVICE),
    BlkioDeviceReadBps=slice_of(THROTTLE_DEVICE),
    BlkioDeviceWriteBps=slice_of(THROTTLE_DEVICE),
    BlkioDeviceReadIOps=slice_of(THROTTLE_DEVICE),
    BlkioDeviceWriteIOps=slice_of(THROTTLE_DEVICE),
    CpuPeriod=INT64,
    CpuQuota=INT64,
    CpuRealtimePeriod=INT64,
    CpuRealtimeRuntime=INT64,
    CpusetCpus=STRING,
    CpusetMems=STRING,
    Devices=slice_of(DEVICE),
    DeviceCgroupRules=STRINGS,
    DeviceRequests=slice_of(
        struct(
            "container.DeviceRequest",
            Driver=STRING,
            Count=INT,
            DeviceIDs=STRINGS,
            Capabilities=slice_of(STRINGS),
            Options=STRING_MAP,
        )
    ),
    KernelMemory=INT64,
    KernelMemoryTCP=INT64,
    MemoryReservation=INT64,
    MemorySwap=INT64,
    MemorySwappiness=INT64,
    OomKillDisable=BOOL,
    PidsLimit=INT64,
    Ulimits=slice_of(ULIMIT),
    CpuCount=INT64,
    CpuPercent=INT64,
    IOMaximumIOps=UINT64,
    IOMaximumBandwidth=UINT64,
    Mounts=slice_of(MOUNT),
    MaskedPaths=STRINGS,
    ReadonlyPaths=STRINGS,
    Init=BOOL,
)

ENDPOINT_SETTINGS = struct(
    "network.EndpointSettings",
    IPAMConfig=struct(
        "network.EndpointIPAMConfig", IPv4Address=STRING, IPv6Address=STRING, LinkLocalIPs=STRINGS
    ),
    Links=STRINGS,
    Aliases=STRINGS,
    NetworkID=STRING,
    EndpointID=STRING,
    Gateway=STRING,
    IPAddress=STRING,
    IPPrefixLen=INT,
    IPv6Gateway=STRING,
    GlobalIPv6Address=STRING,
    GlobalIPv6PrefixLen=INT,
    MacAddress=STRING,
    DriverOpts=STRING_MAP,
)
NETWORKING_CONFIG = struct(
    "network.NetworkingConfig",
    EndpointsConfig=map_of(ENDPOINT_SETTINGS, "map[string]*network.EndpointSettings"),
)

# container.Config embedded in the request's wrapper, with HostConfig and NetworkingConfig beside it
CREATE_BODY = GoType(
    "ContainerConfigWrapper",
    "struct",
    struct="ContainerConfigWrapper",
    fields={
        "Hostname": STRING,
        "Domainname": STRING,
        "User": STRING,
        "AttachStdin": BOOL,
        "AttachStdout": BOOL,
        "AttachStderr": BOOL,
        "ExposedPorts": PORT_SET,
        "Tty": BOOL,
        "OpenStdin": BOOL,
        "StdinOnce": BOOL,
        "Env": STRINGS,
        "Cmd": STRSLICE,
        "Healthcheck": HEALTHCHECK,
        "ArgsEscaped": BOOL,
        "Image": STRING,
        "Volumes": map_of(EMPTY, "map[string]struct {}"),
        "WorkingDir": STRING,
        "Entrypoint": STRSLICE,
        "NetworkDisabled": BOOL,
        "MacAddress": STRING,
        "OnBuild": STRINGS,
        "Labels": STRING_MAP,
        "StopSignal": STRING,
        "StopTimeout": INT,
        "Shell": STRSLICE,
        "HostConfig": HOST_CONFIG,
        "NetworkingConfig": NETWORKING_CONFIG,
    },
)


def check(value: Any, t: GoType = CREATE_BODY) -> None:
    """Raise InvalidParameter with Go's message at the first value that does not fit its type."""
    _check(value, t, "", [])


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _fail(value: Any, t: GoType, owner: str, path: list[str]) -> InvalidParameter:
    what = _json_kind(value)
    if what == "number" and t.kind in ("int", "float"):  # Go names the literal only for a numeric target
        what = "number " + (value.text if isinstance(value, Number) else repr(value))
    where = f"Go struct field {owner}.{'.'.join(path)}" if owner else "Go value"
    return InvalidParameter(f"json: cannot unmarshal {what} into {where} of type {t.name}")


def _check(value: Any, t: GoType, owner: str, path: list[str]) -> None:
    if value is None or t.kind == "any":
        return
    ok: bool
    if t.kind == "string":
        ok = isinstance(value, str)
    elif t.kind == "bool":
        ok = isinstance(value, bool)
    elif t.kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and _fits(value, t)
        if not ok and isinstance(value, (float, int)) and not isinstance(value, bool):
            raise _fail(value, t, owner, path)
    elif t.kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) != float("inf")
    elif t.kind == "strslice":
        if isinstance(value, list):
            for item in value:
                _check(item, STRING, owner, path)
            return
        ok = isinstance(value, str)
    elif t.kind == "slice":
        ok = isinstance(value, list)
        if ok:
            assert t.elem is not None
            for item in value:
                _check(item, t.elem, owner, path)
            return
    elif t.kind == "map":
        ok = isinstance(value, dict)
        if ok:
            assert t.elem is not None
            for item in value.values():
                _check(item, t.elem, owner, path)
            return
    else:  # struct: the fields' paths continue from here, their owner is this struct
        ok = isinstance(value, dict)
        if ok:
            for key, sub in value.items():
                ft = t.fields.get(key)
                if ft is not None:
                    _check(sub, ft, t.struct, [*path, key])
            return
    if not ok:
        raise _fail(value, t, owner, path)


def _fits(value: int, t: GoType) -> bool:
    if t.bits == 65:
        return 0 <= value < 2**64
    if t.name.startswith("uint"):
        return 0 <= value < 2**t.bits
    return -(2 ** (t.bits - 1)) <= value < 2 ** (t.bits - 1)

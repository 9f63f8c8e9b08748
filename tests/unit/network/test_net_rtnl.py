"""The rtnetlink client's wire format (packing, attribute parsing, error replies) and the veth reaper's
timing, without touching the kernel."""

from __future__ import annotations

import errno
import struct
import threading
import time

from engine.network import rtnl
from engine.network.reaper import LinkReaper


def test_attributes_are_padded_and_parsed_back() -> None:
    raw = rtnl.attr_str(rtnl.IFLA_IFNAME, "eth0") + rtnl.attr_u32(rtnl.IFLA_MTU, 1500)
    # "eth0\0" is 5 bytes: header 4 + 5 = 9, padded to 12
    assert len(raw) == 12 + 8
    assert struct.unpack_from("=HH", raw) == (9, rtnl.IFLA_IFNAME)
    parsed = rtnl.attrs(raw)
    assert parsed[rtnl.IFLA_IFNAME] == b"eth0\0"
    assert struct.unpack("=I", parsed[rtnl.IFLA_MTU]) == (1500,)


def test_nested_attribute_flag_bits_are_ignored() -> None:
    nested = struct.pack("=HH", 8, rtnl.IFLA_LINKINFO | 0x8000) + b"abcd"
    assert rtnl.attrs(nested) == {rtnl.IFLA_LINKINFO: b"abcd"}


def test_truncated_attribute_stops_parsing() -> None:
    assert rtnl.attrs(struct.pack("=HH", 2, 1) + b"xxxx") == {}


def _error_reply(code: int, text: str) -> tuple[bytes, int]:
    echoed = struct.pack("=IHHII", 16, rtnl.RTM_NEWLINK, 5, 7, 0)
    tlv = rtnl.attr_str(rtnl.NLMSGERR_ATTR_MSG, text)
    return struct.pack("=i", -code) + echoed + tlv, rtnl.F_CAPPED | rtnl.F_ACK_TLVS


def test_error_reply_carries_the_kernels_explanation() -> None:
    payload, flags = _error_reply(errno.EEXIST, "File exists")
    assert rtnl._ext_ack(payload, flags) == "File exists"
    assert rtnl._ext_ack(payload, 0) == ""
    e = rtnl.RtnlError(errno.ENODEV, "Unknown device type")
    assert e.errno == errno.ENODEV and e.strerror == "No such device (Unknown device type)"
    assert rtnl.RtnlError(errno.EPERM).strerror == "Operation not permitted"


def test_reaper_deletes_after_the_grace_in_order() -> None:
    done: list[tuple[str, float]] = []
    all_done = threading.Event()

    def delete(name: str) -> None:
        done.append((name, time.monotonic()))
        if name == "fails":
            raise OSError("kernel said no")
        if len(done) == 3:
            all_done.set()

    reaper = LinkReaper(delete, grace=0.05)
    t0 = time.monotonic()
    reaper.reap(["a", "fails"])
    reaper.reap(["b"])
    assert reaper.pending() == {"a", "fails", "b"}
    assert all_done.wait(5)
    assert [n for n, _ in done] == ["a", "fails", "b"]
    assert done[0][1] - t0 >= 0.05  # the kernel gets its chance first
    assert reaper.pending() == set()  # a failed deletion is logged, not retried forever


def test_reaper_take_flush_and_done() -> None:
    deleted: list[str] = []
    finished: list[str] = []
    reaper = LinkReaper(deleted.append, grace=60)
    reaper.reap(["br-a", "br-b"], done=finished.append)
    reaper.reap(["ve1"])
    assert reaper.take("br-a") and not reaper.take("br-a")
    reaper.flush()  # shutdown: everything now, in the caller's thread
    assert deleted == ["br-b", "ve1"] and finished == ["br-b"]
    assert reaper.pending() == set()


def test_quickack_is_a_nested_route_metric() -> None:
    raw = rtnl._metrics(True)
    metrics = rtnl.attrs(raw)[rtnl.RTA_METRICS]
    assert rtnl.attrs(metrics) == {rtnl.RTAX_QUICKACK: struct.pack("=I", 1)}
    assert rtnl._metrics(False) == b""

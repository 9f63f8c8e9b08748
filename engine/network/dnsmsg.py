"""Just enough of the DNS wire format (RFC 1035) for the embedded server: read a query's question, build
answers with A records, NXDOMAIN and SERVFAIL replies. Pure functions."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

TYPE_A, TYPE_AAAA, TYPE_PTR = 1, 28, 12
CLASS_IN = 1
RCODE_OK, RCODE_FORMERR, RCODE_SERVFAIL, RCODE_NXDOMAIN = 0, 1, 2, 3
TTL = 600  # Docker's embedded DNS answers with 600 s


class BadMessage(ValueError):
    pass


@dataclass(frozen=True)
class Question:
    """The question of a DNS query, as the embedded resolver reads it."""

    id: int
    flags: int
    name: str  # lower case, no trailing dot
    qtype: int
    qclass: int
    raw_question: bytes  # the question section as received, echoed in the reply


def parse_query(data: bytes) -> Question:
    if len(data) < 12:
        raise BadMessage("short header")
    qid, flags, qdcount = struct.unpack("!HHH", data[:6])
    if flags & 0x8000 or qdcount != 1:
        raise BadMessage("not a single-question query")
    pos, labels = 12, []
    while True:
        if pos >= len(data):
            raise BadMessage("truncated name")
        n = data[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0:
            raise BadMessage("compressed name in question")
        labels.append(data[pos : pos + n].decode("ascii", errors="replace"))
        pos += n
    if pos + 4 > len(data):
        raise BadMessage("truncated question")
    qtype, qclass = struct.unpack("!HH", data[pos : pos + 4])
    return Question(qid, flags, ".".join(labels).lower(), qtype, qclass, data[12 : pos + 4])


def _header(q: Question, rcode: int, ancount: int) -> bytes:
    rd = q.flags & 0x0100
    flags = 0x8000 | 0x0400 | rd | 0x0080 | rcode  # response, authoritative, RD echoed, RA
    return struct.pack("!HHHHHH", q.id, flags, 1, ancount, 0, 0)


def reply_a(q: Question, ips: list[str]) -> bytes:
    """A records for the IPv4 addresses of `ips`, or AAAA records for the IPv6 ones when asked AAAA."""
    rtype = TYPE_AAAA if q.qtype == TYPE_AAAA else TYPE_A
    chosen = [ipaddress.ip_address(ip) for ip in ips if (":" in ip) == (rtype == TYPE_AAAA)]
    answers = b""
    for addr in chosen:
        # 0xC00C: a pointer to the name in the question
        answers += struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, TTL, len(addr.packed)) + addr.packed
    return _header(q, RCODE_OK, len(chosen)) + q.raw_question + answers


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.strip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def reply_ptr(q: Question, target: str) -> bytes:
    rdata = encode_name(target)
    answer = struct.pack("!HHHIH", 0xC00C, TYPE_PTR, CLASS_IN, TTL, len(rdata)) + rdata
    return _header(q, RCODE_OK, 1) + q.raw_question + answer


def reply_empty(q: Question, rcode: int) -> bytes:
    return _header(q, rcode, 0) + q.raw_question


def ptr_to_ip(name: str) -> str | None:
    """ "4.3.2.1.in-addr.arpa" -> "1.2.3.4"."""
    suffix = ".in-addr.arpa"
    if not name.endswith(suffix):
        return None
    parts = name[: -len(suffix)].split(".")
    if len(parts) != 4:
        return None
    try:
        return str(ipaddress.IPv4Address(".".join(reversed(parts))))
    except ValueError:
        return None


def servfail_for(data: bytes) -> bytes | None:
    try:
        return reply_empty(parse_query(data), RCODE_SERVFAIL)
    except BadMessage:
        return None

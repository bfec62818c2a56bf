"""A minimal DNS message codec for browsing with one-shot legacy-unicast mDNS queries.

A client that browses sends its questions from an ephemeral UDP port to the mDNS group
(RFC 6762 5.1, 6.7) and reads the answers sent straight back.  This module is the pure
part of that: queries encoded, responses decoded into the five record types DNS-SD needs
(PTR, SRV, TXT, A, AAAA), and the records of many responses assembled into
:class:`~.adverts.Advert` s, with the questions that would complete them.

It is its own codec because a browsing command must finish in well under 150 ms as a
whole process, and importing python-zeroconf alone takes some 85 ms, dnspython 100 ms;
this module adds only :mod:`struct` to what :mod:`.adverts` imports, a few ms in all.
Servers still advertise with zeroconf (:mod:`.advertise`).

Names are tuples of labels: an instance label holds spaces, ``#``, UTF-8 and even dots.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .adverts import SERVICE_TYPE, Advert, decode_txt

TYPE_A = 1
TYPE_PTR = 12
TYPE_TXT = 16
TYPE_AAAA = 28
TYPE_SRV = 33
MDNS_PORT = 5353
MDNS_V4 = "224.0.0.251"
MDNS_V6 = "ff02::fb"

CLASS_IN = 1
MAX_LABEL = 63
MAX_NAME = 255  # on the wire: every label with its length byte, and the root's zero
_MAX_HOPS = 127  # compression pointers in one name (a name has at most 127 labels)
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_SRV = struct.Struct("!HHH")
_QR = 0x8000
_OPCODE = 0x7800
_RCODE = 0x000F
_SERVICE = tuple(SERVICE_TYPE.rstrip(".").split("."))  # ("_stap", "_tcp", "local")
# DNS compares names case-insensitively in ASCII only (RFC 6762 16).
_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

Name = tuple[str, ...]


class MalformedMessage(ValueError):
    """A packet that is no well-formed DNS message."""


class Srv(NamedTuple):
    priority: int
    weight: int
    port: int
    target: Name


class Record(NamedTuple):
    """One resource record; ``value`` is a PTR's target (a name), an :class:`Srv`, a
    TXT's character-strings (``tuple[bytes, ...]``) or an A/AAAA's address text."""

    name: Name
    rtype: int
    ttl: int
    value: object


def _wire_labels(name: str | Name) -> list[bytes]:
    """A name as its encoded labels: a string in presentation form (``a.b.local.``, the
    trailing dot optional, no escapes) or a tuple of the exact labels."""
    if isinstance(name, str):
        text = name[:-1] if name.endswith(".") else name
        labels: Sequence[str] = text.split(".") if text else ()
    else:
        labels = name
    out = []
    size = 1
    for label in labels:
        data = label.encode("utf-8")
        if not data:
            raise ValueError(f"empty label in DNS name {name!r}")
        if len(data) > MAX_LABEL:
            raise ValueError(f"DNS label over {MAX_LABEL} bytes: {label!r}")
        size += 1 + len(data)
        out.append(data)
    if size > MAX_NAME:
        raise ValueError(f"DNS name over {MAX_NAME} bytes: {name!r}")
    return out


def encode_query(questions: Sequence[tuple[str | Name, int]], *, query_id: int = 0) -> bytes:
    """A standard query (flags 0) asking each question in class IN, names compressed.
    Legacy unicast questions do not set the unicast-response bit: the answer comes
    back to the querier's port anyway."""
    if not 0 <= query_id <= 0xFFFF:
        raise ValueError(f"query id out of range: {query_id}")
    parts = [_HEADER.pack(query_id, 0, len(questions), 0, 0, 0)]
    size = _HEADER.size
    seen: dict[tuple[bytes, ...], int] = {}  # name suffixes already written, by offset
    for name, qtype in questions:
        if not 0 <= qtype <= 0xFFFF:
            raise ValueError(f"query type out of range: {qtype}")
        labels = _wire_labels(name)
        for i in range(len(labels) + 1):
            suffix = tuple(labels[i:])
            offset = seen.get(suffix)
            if offset is not None:
                parts.append(struct.pack("!H", 0xC000 | offset))
                size += 2
                break
            if not suffix:
                parts.append(b"\0")
                size += 1
                break
            if size < 0x4000:
                seen[suffix] = size
            parts.append(bytes((len(labels[i]),)) + labels[i])
            size += 1 + len(labels[i])
        parts.append(struct.pack("!HH", qtype, CLASS_IN))
        size += 4
    return b"".join(parts)


def _read_name(data: bytes, pos: int) -> tuple[Name, int]:
    """The name at ``pos`` and the offset after it.  A compression pointer must point
    below where the labels it ends began, so every name ends."""
    labels: list[str] = []
    after = -1  # where the name ends in place: after its first pointer, or its zero
    floor = pos
    size = 1
    hops = 0
    end = len(data)
    while True:
        if pos >= end:
            raise MalformedMessage("name runs past the end of the message")
        length = data[pos]
        if length == 0:
            return tuple(labels), (pos + 1 if after < 0 else after)
        if length <= MAX_LABEL:
            stop = pos + 1 + length
            if stop > end:
                raise MalformedMessage("label runs past the end of the message")
            size += 1 + length
            if size > MAX_NAME:
                raise MalformedMessage(f"name over {MAX_NAME} bytes")
            labels.append(data[pos + 1 : stop].decode("utf-8", "replace"))
            pos = stop
        elif length >= 0xC0:
            if pos + 1 >= end:
                raise MalformedMessage("compression pointer runs past the end of the message")
            target = (length & 0x3F) << 8 | data[pos + 1]
            if not _HEADER.size <= target < floor:
                raise MalformedMessage(f"compression pointer at {pos} to {target}")
            hops += 1
            if hops > _MAX_HOPS:
                raise MalformedMessage("too many compression pointers in one name")
            if after < 0:
                after = pos + 2
            pos = floor = target
        else:
            raise MalformedMessage(f"unknown label type {length:#x} at {pos}")


def _rdata_name(data: bytes, pos: int, end: int) -> Name:
    name, stop = _read_name(data, pos)
    if stop > end:
        raise MalformedMessage("name runs past its record's data")
    return name


def _value(data: bytes, rtype: int, pos: int, end: int) -> object:
    if rtype == TYPE_PTR:
        return _rdata_name(data, pos, end)
    if rtype == TYPE_SRV:
        if pos + _SRV.size > end:
            raise MalformedMessage("SRV record too short")
        priority, weight, port = _SRV.unpack_from(data, pos)
        return Srv(priority, weight, port, _rdata_name(data, pos + _SRV.size, end))
    if rtype == TYPE_TXT:
        strings = []
        while pos < end:
            stop = pos + 1 + data[pos]
            if stop > end:
                raise MalformedMessage("TXT string runs past its record's data")
            strings.append(data[pos + 1 : stop])
            pos = stop
        return tuple(strings)
    if rtype == TYPE_A:
        if end - pos != 4:
            raise MalformedMessage(f"A record of {end - pos} bytes")
        return str(ipaddress.IPv4Address(data[pos:end]))
    if end - pos != 16:
        raise MalformedMessage(f"AAAA record of {end - pos} bytes")
    return str(ipaddress.IPv6Address(data[pos:end]))


_TYPES = frozenset((TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_AAAA, TYPE_SRV))


def decode_response(data: bytes) -> tuple[int, list[Record]]:
    """The id of a message and, if it is a response, the records of class IN and of the
    five types above in its answer, authority and additional sections, in order.  A
    query, or a response with a non-zero opcode or rcode (ignored, RFC 6762 18.3,
    18.11), has none.  Anything malformed raises :class:`MalformedMessage`."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise MalformedMessage(f"message of {len(data)} bytes")
    qid, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data)
    if not flags & _QR or flags & (_OPCODE | _RCODE):
        return qid, []
    end = len(data)
    pos = _HEADER.size
    for _ in range(qdcount):
        _, pos = _read_name(data, pos)
        pos += 4
        if pos > end:
            raise MalformedMessage("question runs past the end of the message")
    records = []
    for _ in range(ancount + nscount + arcount):
        name, pos = _read_name(data, pos)
        if pos + _RR.size > end:
            raise MalformedMessage("record runs past the end of the message")
        rtype, rclass, ttl, length = _RR.unpack_from(data, pos)
        pos += _RR.size
        stop = pos + length
        if stop > end:
            raise MalformedMessage("record data runs past the end of the message")
        if rclass & 0x7FFF == CLASS_IN and rtype in _TYPES:  # the top bit: cache-flush
            records.append(Record(name, rtype, ttl, _value(data, rtype, pos, stop)))
        pos = stop
    return qid, records


def _fold(name: Name) -> Name:
    return tuple(label.translate(_FOLD) for label in name)


_SERVICE_KEY = _fold(_SERVICE)


def _instance_key(name: Name) -> str | None:
    """The folded instance label of a name ``LABEL._stap._tcp.local``, else None."""
    if len(name) != len(_SERVICE) + 1 or _fold(name[1:]) != _SERVICE_KEY:
        return None
    return name[0].translate(_FOLD)


def _scoped(address: str, scope: str | None) -> str:
    if scope and "%" not in address:
        try:
            if ipaddress.IPv6Address(address).is_link_local:
                return f"{address}%{scope}"
        except ValueError:
            pass
    return address


def _txt(strings: tuple[bytes, ...]) -> dict[str, str]:
    """TXT entries (RFC 6763 6.4): ``key=value`` split at the first ``=``, a bare key
    with no value; empty strings and strings without a key ignored; first key wins."""
    entries: dict[bytes, bytes | None] = {}
    for s in strings:
        if not s or s.startswith(b"="):
            continue
        key, eq, value = s.partition(b"=")
        entries.setdefault(key, value if eq else None)
    return decode_txt(entries)


class Answers:
    """The records of many responses, assembled into the adverts of ``_stap._tcp``
    instances.  A record replaces the one it updates; a record with TTL 0 (a goodbye)
    removes it, and a PTR goodbye the whole instance."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}  # folded instance label -> label, as first seen
        self._srv: dict[str, Srv] = {}  # by folded instance label
        self._txt: dict[str, tuple[bytes, ...]] = {}
        self._v4: dict[Name, list[str]] = {}  # by folded host name
        self._v6: dict[Name, list[str]] = {}

    def add(self, records: Iterable[Record], scope: str | None = None) -> None:
        """Take the records of one response; ``scope`` is the interface it came in on,
        given to the IPv6 link-local addresses in it."""
        for r in records:
            if r.rtype == TYPE_PTR:
                if not isinstance(r.value, tuple) or _fold(r.name) != _SERVICE_KEY:
                    continue
                key = _instance_key(r.value)
                if key is None:
                    continue
                if r.ttl == 0:
                    self._labels.pop(key, None)
                    self._srv.pop(key, None)
                    self._txt.pop(key, None)
                else:
                    self._labels.setdefault(key, r.value[0])
            elif r.rtype == TYPE_SRV or r.rtype == TYPE_TXT:
                key = _instance_key(r.name)
                if key is None:
                    continue
                if r.rtype == TYPE_SRV and isinstance(r.value, Srv):
                    if r.ttl == 0:
                        self._srv.pop(key, None)
                    else:
                        self._srv[key] = r.value
                elif r.rtype == TYPE_TXT and isinstance(r.value, tuple):
                    if r.ttl == 0:
                        self._txt.pop(key, None)
                    else:
                        self._txt[key] = r.value
            elif (r.rtype == TYPE_A or r.rtype == TYPE_AAAA) and isinstance(r.value, str):
                table = self._v4 if r.rtype == TYPE_A else self._v6
                address = _scoped(r.value, scope) if r.rtype == TYPE_AAAA else r.value
                host = _fold(r.name)
                known = table.setdefault(host, [])
                if r.ttl == 0:
                    if address in known:
                        known.remove(address)
                elif address not in known:
                    known.append(address)

    def instances(self) -> list[str]:
        """The instance labels under ``_stap._tcp.local.``, in the order first seen."""
        return list(self._labels.values())

    def _addresses(self, host: Name) -> tuple[str, ...]:
        key = _fold(host)
        return (*self._v4.get(key, ()), *self._v6.get(key, ()))

    def advert(self, label: str) -> Advert | None:
        """The instance's advert: None until its SRV, its TXT and an address of the
        SRV's host are all in."""
        key = label.translate(_FOLD)
        srv = self._srv.get(key)
        txt = self._txt.get(key)
        if srv is None or txt is None:
            return None
        addresses = self._addresses(srv.target)
        if not addresses:
            return None
        name = self._labels.get(key, label)
        return Advert(name, ".".join(srv.target), srv.port, addresses, _txt(txt))

    def complete(self, label: str) -> bool:
        return self.advert(label) is not None

    def missing(self) -> list[tuple[Name, int]]:
        """The questions that would complete the instances seen: the SRV and TXT each
        lacks, and the A and AAAA of each SRV host without an address."""
        questions: list[tuple[Name, int]] = []
        hosts: set[Name] = set()
        for key, label in self._labels.items():
            name = (label, *_SERVICE)
            srv = self._srv.get(key)
            if srv is None:
                questions.append((name, TYPE_SRV))
            if key not in self._txt:
                questions.append((name, TYPE_TXT))
            if srv is None or not srv.target or _fold(srv.target) in hosts:
                continue
            hosts.add(_fold(srv.target))
            if not self._addresses(srv.target):
                questions += [(srv.target, TYPE_A), (srv.target, TYPE_AAAA)]
        return questions


__all__ = [
    "MDNS_PORT",
    "MDNS_V4",
    "MDNS_V6",
    "TYPE_A",
    "TYPE_AAAA",
    "TYPE_PTR",
    "TYPE_SRV",
    "TYPE_TXT",
    "Answers",
    "MalformedMessage",
    "Record",
    "Srv",
    "decode_response",
    "encode_query",
]

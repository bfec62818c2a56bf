"""discovery.mdns: legacy-unicast queries and responses, and adverts assembled from them.

python-zeroconf serves as the oracle both ways: it reads the queries encoded here, and
writes the responses (compressed, with cache-flush bits) decoded here.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import struct
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zeroconf import (
    DNSAddress,
    DNSHinfo,
    DNSIncoming,
    DNSPointer,
    DNSQuestion,
    DNSRecord,
    DNSService,
    DNSText,
)
from zeroconf._protocol.outgoing import DNSOutgoing

from stapserver.discovery.adverts import Advert
from stapserver.discovery.mdns import (
    MDNS_PORT,
    MDNS_V4,
    MDNS_V6,
    TYPE_A,
    TYPE_AAAA,
    TYPE_PTR,
    TYPE_SRV,
    TYPE_TXT,
    Answers,
    MalformedMessage,
    Record,
    Srv,
    decode_response,
    encode_query,
)

SERVICE = ("_stap", "_tcp", "local")
LABEL = "Systemtap Compile Server on box"
INSTANCE = (LABEL, *SERVICE)
HOST = ("box", "local")
FLAGS_RESPONSE = 0x8400  # QR, AA
CLASS_FLUSH = 0x8000
TXT = (b"sysinfo=6.1.0 x86_64", b"optinfo=", b"version=4.8", b"certinfo=0a:0b")
TXT_DICT = {"sysinfo": "6.1.0 x86_64", "optinfo": "", "version": "4.8", "certinfo": "0a:0b"}


# -- building messages by hand --------------------------------------------------------


def wire_name(labels: Sequence[str]) -> bytes:
    return b"".join(bytes((len(b),)) + b for b in (x.encode() for x in labels)) + b"\0"


def rr(name: bytes, rtype: int, rdata: bytes, *, ttl: int = 120, rclass: int = 1) -> bytes:
    """A record whose owner name is given on the wire (compressed or not)."""
    return name + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def message(
    body: bytes,
    *,
    qd: int = 0,
    an: int = 0,
    ns: int = 0,
    ar: int = 0,
    qid: int = 0,
    flags: int = FLAGS_RESPONSE,
) -> bytes:
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar) + body


def txt_rdata(strings: Sequence[bytes]) -> bytes:
    return b"".join(bytes((len(s),)) + s for s in strings)


def srv_rdata(port: int, target: Sequence[str], priority: int = 0, weight: int = 0) -> bytes:
    return struct.pack("!HHH", priority, weight, port) + wire_name(target)


# -- building messages with zeroconf --------------------------------------------------


def dotted(labels: Sequence[str]) -> str:
    return ".".join(labels) + "."


def zc_response(
    answers: Sequence[DNSRecord] = (),
    authorities: Sequence[DNSRecord] = (),
    additionals: Sequence[DNSRecord] = (),
    *,
    questions: Sequence[DNSQuestion] = (),
    multicast: bool = True,
    qid: int = 0,
    flags: int = FLAGS_RESPONSE,
) -> bytes:
    """A message zeroconf writes; ``multicast`` sets the cache-flush bits (and id 0)."""
    out = DNSOutgoing(flags, multicast=multicast, id_=qid)
    for q in questions:
        out.add_question(q)
    for r in answers:
        out.add_answer_at_time(r, 0)
    for r in authorities:
        out.authorities.append(r)  # add_authorative_answer takes only a DNSPointer
    for r in additionals:
        out.add_additional_answer(r)
    packets = out.packets()
    assert len(packets) == 1
    return packets[0]


def zc_service(
    label: str = LABEL,
    host: Sequence[str] = HOST,
    port: int = 5000,
    txt: Sequence[bytes] = TXT,
    addresses: Sequence[bytes] = (b"\xc0\xa8\x01\x02",),
    ttl: int = 120,
) -> list[DNSRecord]:
    """The records one server sends: PTR, SRV and TXT (unique), then its addresses."""
    name = dotted((label, *SERVICE))
    records: list[DNSRecord] = [
        DNSPointer(dotted(SERVICE), TYPE_PTR, 1, ttl, name),
        DNSService(name, TYPE_SRV, 1 | CLASS_FLUSH, ttl, 0, 0, port, dotted(host)),
        DNSText(name, TYPE_TXT, 1 | CLASS_FLUSH, ttl, txt_rdata(txt)),
    ]
    for a in addresses:
        rtype = TYPE_A if len(a) == 4 else TYPE_AAAA
        records.append(DNSAddress(dotted(host), rtype, 1 | CLASS_FLUSH, ttl, a))
    return records


def ptr(label: str = LABEL, ttl: int = 120) -> Record:
    return Record(SERVICE, TYPE_PTR, ttl, (label, *SERVICE))


def srv(
    label: str = LABEL, host: tuple[str, ...] = HOST, port: int = 5000, ttl: int = 120
) -> Record:
    return Record((label, *SERVICE), TYPE_SRV, ttl, Srv(0, 0, port, host))


def txt(label: str = LABEL, strings: tuple[bytes, ...] = TXT, ttl: int = 120) -> Record:
    return Record((label, *SERVICE), TYPE_TXT, ttl, strings)


def a(address: str, host: tuple[str, ...] = HOST, ttl: int = 120) -> Record:
    return Record(host, TYPE_A, ttl, address)


def aaaa(address: str, host: tuple[str, ...] = HOST, ttl: int = 120) -> Record:
    return Record(host, TYPE_AAAA, ttl, address)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail, rather than hang, when the decoder loops."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError("decoding did not end")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def decode_or_malformed(data: bytes) -> None:
    """Decode anything: a result of the documented shape, or MalformedMessage."""
    with time_limit(2.0):
        try:
            qid, records = decode_response(data)
        except MalformedMessage:
            return
    assert 0 <= qid <= 0xFFFF
    for r in records:
        assert isinstance(r.name, tuple) and all(isinstance(x, str) for x in r.name)
        assert sum(len(x.encode()) + 1 for x in r.name) < 255 * 3  # replacement chars grow
        assert 0 <= r.ttl < 2**32
        if r.rtype == TYPE_PTR:
            assert isinstance(r.value, tuple)
        elif r.rtype == TYPE_SRV:
            assert isinstance(r.value, Srv) and isinstance(r.value.target, tuple)
        elif r.rtype == TYPE_TXT:
            assert isinstance(r.value, tuple) and all(isinstance(s, bytes) for s in r.value)
        else:
            assert r.rtype in (TYPE_A, TYPE_AAAA) and isinstance(r.value, str)


# -- constants -------------------------------------------------------------------------


def test_constants() -> None:
    assert (TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_AAAA, TYPE_SRV) == (1, 12, 16, 28, 33)
    assert (MDNS_PORT, MDNS_V4, MDNS_V6) == (5353, "224.0.0.251", "ff02::fb")
    assert issubclass(MalformedMessage, ValueError)


# -- queries ---------------------------------------------------------------------------


def test_browse_query_bytes() -> None:
    assert encode_query([("_stap._tcp.local.", TYPE_PTR)], query_id=0x1234) == (
        b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        b"\x05_stap\x04_tcp\x05local\x00\x00\x0c\x00\x01"
    )


def test_name_forms_agree() -> None:
    as_text = encode_query([("_stap._tcp.local.", TYPE_PTR)])
    assert encode_query([("_stap._tcp.local", TYPE_PTR)]) == as_text
    assert encode_query([(SERVICE, TYPE_PTR)]) == as_text
    root = encode_query([(".", TYPE_A)])
    assert root == encode_query([((), TYPE_A)]) == message(b"\0\0\1\0\1", qd=1, flags=0)


def test_tuple_labels_are_exact() -> None:
    """An instance label keeps its dots, spaces, '#' and UTF-8 as one label."""
    label = "Systemtap Compile Server on h\u00f4st.example #2"
    data = encode_query([((label, *SERVICE), TYPE_SRV)])
    encoded = label.encode()
    assert data[12:] == bytes((len(encoded),)) + encoded + wire_name(SERVICE) + b"\0\x21\0\1"


def test_repeated_names_are_compressed() -> None:
    data = encode_query([(INSTANCE, TYPE_SRV), (INSTANCE, TYPE_TXT), (HOST, TYPE_A)])
    first = wire_name(INSTANCE) + b"\0\x21\0\1"
    assert data[12:] == (
        first
        + b"\xc0\x0c\0\x10\0\1"  # the whole instance name
        + b"\3box"
        + bytes((0xC0, 12 + len(wire_name(INSTANCE)) - 7))  # "local."
        + b"\0\1\0\1"
    )
    msg = DNSIncoming(data)
    assert msg.valid
    assert [(q.name, q.type) for q in msg.questions] == [
        (dotted(INSTANCE), TYPE_SRV),
        (dotted(INSTANCE), TYPE_TXT),
        (dotted(HOST), TYPE_A),
    ]


def test_compressed_query_names_read_back() -> None:
    """Our query with its QR bit set, and an answer pointing at each question's name."""
    label = "a.b #3 \u00e9"
    query = encode_query([((label, *SERVICE), TYPE_SRV), ((label, "x", "local"), TYPE_TXT)])
    second = 12 + len(wire_name((label, *SERVICE))) + 4  # the label again, "x", a pointer
    answers = rr(b"\xc0\x0c", TYPE_PTR, bytes((0xC0, second))) + rr(
        bytes((0xC0, second)), TYPE_PTR, b"\xc0\x0c"
    )
    data = bytearray(query + answers)
    data[2] |= 0x80
    data[7] = 2
    assert decode_response(bytes(data))[1] == [
        Record((label, *SERVICE), TYPE_PTR, 120, (label, "x", "local")),
        Record((label, "x", "local"), TYPE_PTR, 120, (label, *SERVICE)),
    ]


@pytest.mark.parametrize(
    "name",
    [
        ("x" * 64,),
        ("\u00e9" * 32, "local"),  # 64 bytes in UTF-8
        "a..local.",
        ("a", "", "local"),
        ("x" * 63,) * 4,  # 257 bytes on the wire
        "\ud800.local.",  # cannot be encoded
    ],
)
def test_bad_names_are_refused(name: str | tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        encode_query([(name, TYPE_A)])


def test_longest_name_is_accepted() -> None:
    name = ("x" * 63,) * 3 + ("y" * 61,)  # 255 bytes on the wire
    assert len(encode_query([(name, TYPE_A)])) == 12 + 255 + 4


@pytest.mark.parametrize("qid", [-1, 0x10000])
def test_bad_id_is_refused(qid: int) -> None:
    with pytest.raises(ValueError):
        encode_query([(SERVICE, TYPE_PTR)], query_id=qid)


labels = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="."), min_size=1, max_size=12
).filter(lambda s: len(s.encode()) <= 63)
names = st.lists(labels, max_size=3).map(tuple)
hosts = st.lists(labels, min_size=1, max_size=3).map(tuple)  # zeroconf cannot write the root


@given(
    st.lists(st.tuples(names, st.sampled_from([1, 12, 16, 28, 33, 255])), max_size=12),
    st.integers(0, 0xFFFF),
    st.booleans(),
)
def test_zeroconf_reads_our_queries(
    questions: list[tuple[tuple[str, ...], int]], qid: int, as_text: bool
) -> None:
    asked = [(dotted(n) if as_text else n, t) for n, t in questions]
    data = encode_query(asked, query_id=qid)
    msg = DNSIncoming(data)
    assert msg.valid
    assert (msg.id, msg.flags) == (qid, 0)
    assert [(q.name, q.type, q.class_, q.unicast) for q in msg.questions] == [
        (dotted(n), t, 1, False) for n, t in questions
    ]
    assert decode_response(data) == (qid, [])  # a query has no records to read


# -- responses -------------------------------------------------------------------------


def test_zeroconf_response_is_read() -> None:
    records = zc_service(addresses=[b"\xc0\xa8\x01\x02", bytes.fromhex("fe80" + "00" * 13 + "01")])
    data = zc_response(records[:1], (), records[1:])
    assert data[2] & 0x80 and b"\x80\x01" in data  # a response, with cache-flush bits
    assert decode_response(data) == (
        0,
        [
            Record(SERVICE, TYPE_PTR, 120, INSTANCE),
            Record(INSTANCE, TYPE_SRV, 120, Srv(0, 0, 5000, HOST)),
            Record(INSTANCE, TYPE_TXT, 120, TXT),
            Record(HOST, TYPE_A, 120, "192.168.1.2"),
            Record(HOST, TYPE_AAAA, 120, "fe80::1"),
        ],
    )


def test_echoed_questions_are_skipped() -> None:
    """A legacy unicast answer repeats the question, and its names point into it."""
    data = zc_response(
        zc_service(),
        questions=[DNSQuestion(dotted(SERVICE), TYPE_PTR, 1)],
        multicast=False,
        qid=4321,
    )
    qid, records = decode_response(data)
    assert qid == 4321
    assert [r.rtype for r in records] == [TYPE_PTR, TYPE_SRV, TYPE_TXT, TYPE_A]
    assert records[0] == Record(SERVICE, TYPE_PTR, 120, INSTANCE)


def test_other_types_and_classes_are_skipped() -> None:
    name = dotted(INSTANCE)
    data = zc_response(
        [
            DNSHinfo(dotted(HOST), 13, 1, 120, "x86_64", "Linux"),
            DNSPointer(dotted(SERVICE), TYPE_PTR, 3, 120, name),  # class CH
            DNSText(name, TYPE_TXT, 3 | CLASS_FLUSH, 120, b"\1x"),
            DNSText(name, TYPE_TXT, 1, 120, b"\1y"),
        ]
    )
    assert decode_response(data)[1] == [Record(INSTANCE, TYPE_TXT, 120, (b"y",))]


def test_queries_and_errors_carry_no_records() -> None:
    known = zc_service()
    query = zc_response(known, flags=0)  # a query with known answers
    assert decode_response(query) == (0, [])
    ok = zc_response(known, multicast=False, qid=7)
    assert len(decode_response(ok)[1]) == 4
    for flags in (FLAGS_RESPONSE | 3, FLAGS_RESPONSE | 0x2800):  # NXDOMAIN; opcode 5
        bad = bytearray(ok)
        bad[2:4] = flags.to_bytes(2, "big")
        assert decode_response(bytes(bad)) == (7, [])


def test_hand_built_values() -> None:
    dot_label = ("a.b c#\u00e9", *SERVICE)
    body = (
        rr(wire_name(dot_label), TYPE_TXT, b"", ttl=0)
        + rr(b"\xc0\x0c", TYPE_TXT, b"\0")
        + rr(wire_name(("BOX", "Local")), TYPE_AAAA, bytes(range(16)), rclass=0x8001)
        + rr(b"\x03\xff\xfeX\x00", TYPE_A, b"\x0a\0\0\1")
        + rr(b"\xc0\x0c", 47, b"\xc0\x0c\0\0")  # NSEC: skipped, its pointer unread
        + rr(b"\xc0\x0c", TYPE_SRV, struct.pack("!HHH", 1, 2, 65535) + b"\0", ttl=2**32 - 1)
    )
    qid, records = decode_response(message(body, an=3, ns=1, ar=2, qid=0xFFFF) + b"trailing")
    assert qid == 0xFFFF
    assert records == [
        Record(dot_label, TYPE_TXT, 0, ()),
        Record(dot_label, TYPE_TXT, 120, (b"",)),
        Record(("BOX", "Local"), TYPE_AAAA, 120, "1:203:405:607:809:a0b:c0d:e0f"),
        Record(("\ufffd\ufffdX",), TYPE_A, 120, "10.0.0.1"),
        Record(dot_label, TYPE_SRV, 2**32 - 1, Srv(1, 2, 65535, ())),
    ]


def test_pointer_chains_below_the_bound_are_followed() -> None:
    """Each question's name points at the one before: a chain as long as the count."""
    body = b"\0\0\1\0\1" + b"".join(
        struct.pack("!HHH", 0xC000 | (12 if i == 0 else 17 + 6 * (i - 1)), 1, 1) for i in range(100)
    )
    last = 17 + 6 * 99
    ok = message(body + rr(struct.pack("!H", 0xC000 | last), TYPE_A, b"\1\2\3\4"), qd=101, an=1)
    assert decode_response(ok)[1] == [Record((), TYPE_A, 120, "1.2.3.4")]
    body = b"\0\0\1\0\1" + b"".join(
        struct.pack("!HHH", 0xC000 | (12 if i == 0 else 17 + 6 * (i - 1)), 1, 1) for i in range(200)
    )
    with pytest.raises(MalformedMessage):
        decode_response(message(body, qd=201))


def test_longest_name_is_read() -> None:
    name = ("x" * 63,) * 3 + ("y" * 61,)
    records = decode_response(message(rr(wire_name(name), TYPE_A, b"\1\1\1\1"), an=1))[1]
    assert records[0].name == name


X63 = bytes((63,)) + b"x" * 63

MALFORMED = {
    "short header": message(b"")[:11],
    "missing record": message(b"", an=1),
    "missing question": message(b"", qd=1),
    "question without type": message(b"\0\0\1", qd=1),
    "record header cut": message(b"\0" + b"\0" * 9, an=1),
    "label past the end": message(b"\5abc", an=1),
    "no root label": message(b"\3abc", an=1),
    "label type 0x40": message(b"\x41" + b"a" * 70, an=1),
    "label type 0x80": message(b"\x81" + b"a" * 70, an=1),
    "pointer cut": message(b"\xc0", an=1),
    "pointer forward": message(rr(b"\xc0\x0e", TYPE_A, b"\1\1\1\1"), an=1),
    "pointer to itself": message(rr(b"\xc0\x0c", TYPE_A, b"\1\1\1\1"), an=1),
    "pointer loop": message(rr(b"\1a\xc0\x0c", TYPE_A, b"\1\1\1\1"), an=1),
    "pointer into the header": message(rr(b"\xc0\x0b", TYPE_A, b"\1\1\1\1"), an=1),  # a 0
    "pointer past the end": message(rr(b"\xff\xff", TYPE_A, b"\1\1\1\1"), an=1),
    "name over 255": message(rr(X63 * 4 + b"\0", TYPE_A, b"\1\1\1\1"), an=1),
    "name over 255 by pointer": message(
        rr(X63 * 3 + b"\0", TYPE_A, b"\1\1\1\1") + rr(X63 + b"\xc0\x0c", TYPE_A, b"\1\1\1\1"),
        an=2,
    ),
    "name of 256": message(rr(X63 * 3 + b"\x3e" + b"y" * 62 + b"\0", TYPE_A, b"1111"), an=1),
    "rdata past the end": message(rr(b"\0", TYPE_A, b"\1\1\1\1")[:-1], an=1),
    "rdata of skipped type past the end": message(rr(b"\0", 99, b"abcd")[:-2], an=1),
    "second record cut": message(rr(b"\0", TYPE_A, b"\1\1\1\1") + b"\0\0", an=2),
    "A of 5 bytes": message(rr(b"\0", TYPE_A, b"\1\1\1\1\1"), an=1),
    "AAAA of 4 bytes": message(rr(b"\0", TYPE_AAAA, b"\1\1\1\1"), an=1),
    "SRV too short": message(rr(b"\0", TYPE_SRV, b"\0\0\0\0\0"), an=1),
    "SRV target past its rdata": message(
        b"\0" + struct.pack("!HHIH", TYPE_SRV, 1, 120, 8) + b"\0" * 6 + b"\3box\0", ar=1
    ),
    "PTR target past its rdata": message(
        b"\0\0\x0c\0\1\0\0\0\x78\0\2" + b"\3box\0", ns=1
    ),  # rdlength 2, name of 5
    "TXT string past its rdata": message(rr(b"\0", TYPE_TXT, b"\5ab") + b"cdefgh", an=1),
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_response(data)


def test_malformed_cases_are_ok_as_queries() -> None:
    """A query is not read past its header (the lead's loop drops it anyway)."""
    data = bytearray(MALFORMED["pointer loop"])
    data[2] = 0
    assert decode_response(bytes(data)) == (0, [])


# -- responses: zeroconf as oracle, and fuzzing ----------------------------------------


@st.composite
def zc_records(draw: st.DrawFn) -> tuple[list[DNSRecord], list[Record]]:
    """Records zeroconf writes and what must be read back, their names drawn from a few
    so that they are compressed; some of other types and classes, to be skipped."""
    pool = draw(st.lists(hosts, min_size=1, max_size=4))
    zc: list[DNSRecord] = []
    expected: list[Record] = []
    for _ in range(draw(st.integers(1, 8))):
        name = draw(st.sampled_from(pool))
        ttl = draw(st.integers(0, 2**32 - 1))
        unique = draw(st.booleans())
        cls = 1 | (CLASS_FLUSH if unique else 0)
        kind = draw(st.sampled_from(["ptr", "srv", "txt", "a", "aaaa", "hinfo", "ch"]))
        value: object
        if kind == "ptr":
            alias = draw(st.sampled_from(pool))
            value = alias
            zc.append(DNSPointer(dotted(name), TYPE_PTR, cls, ttl, dotted(alias)))
            rtype = TYPE_PTR
        elif kind == "srv":
            prio, weight, port = draw(st.tuples(*[st.integers(0, 0xFFFF)] * 3))
            target = draw(st.sampled_from(pool))
            value = Srv(prio, weight, port, target)
            zc.append(
                DNSService(dotted(name), TYPE_SRV, cls, ttl, prio, weight, port, dotted(target))
            )
            rtype = TYPE_SRV
        elif kind == "txt":
            strings = tuple(draw(st.lists(st.binary(max_size=20), max_size=3)))
            value = strings
            zc.append(DNSText(dotted(name), TYPE_TXT, cls, ttl, txt_rdata(strings)))
            rtype = TYPE_TXT
        elif kind in ("a", "aaaa"):
            rtype = TYPE_A if kind == "a" else TYPE_AAAA
            packed = draw(
                st.binary(min_size=4, max_size=4)
                if kind == "a"
                else st.binary(min_size=16, max_size=16)
            )
            value = str(ipaddress.ip_address(packed))
            zc.append(DNSAddress(dotted(name), rtype, cls, ttl, packed))
        elif kind == "hinfo":
            zc.append(DNSHinfo(dotted(name), 13, cls, ttl, "cpu", "os"))
            continue
        else:
            zc.append(DNSPointer(dotted(name), TYPE_PTR, 3, ttl, dotted(name)))
            continue
        expected.append(Record(name, rtype, ttl, value))
    return zc, expected


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(zc_records(), st.integers(0, 2), st.booleans(), st.integers(0, 0xFFFF))
def test_zeroconf_responses_are_read(
    built: tuple[list[DNSRecord], list[Record]],
    split: int,
    multicast: bool,
    qid: int,
) -> None:
    """Records split over answers, authority and additionals come back in that order,
    with cache-flush bits (multicast) or without."""
    zc, expected = built
    sections = (zc[:split], zc[split : split * 2], zc[split * 2 :])
    data = zc_response(*sections, multicast=multicast, qid=qid)
    assert decode_response(data) == (0 if multicast else qid, expected)


def sample_response() -> bytes:
    return zc_response(
        zc_service(addresses=[b"\x0a\0\0\1", bytes(15) + b"\1"])[:2],
        (),
        zc_service(addresses=[b"\x0a\0\0\1", bytes(15) + b"\1"])[2:],
        questions=[DNSQuestion(dotted(SERVICE), TYPE_PTR, 1)],
        multicast=False,
        qid=99,
    )


@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    decode_or_malformed(data)


@given(
    st.tuples(*[st.integers(0, 3)] * 4),
    st.binary(max_size=300),
)
def test_random_bodies_of_responses(counts: tuple[int, int, int, int], body: bytes) -> None:
    decode_or_malformed(message(body, qd=counts[0], an=counts[1], ns=counts[2], ar=counts[3]))


# A body of labels, pointers (mostly backwards, some anywhere) and record fields: the
# shapes that make a name decoder loop or run away.
atoms = st.one_of(
    st.just(b"\0"),
    st.binary(min_size=1, max_size=5).map(lambda b: bytes((len(b),)) + b),
    st.integers(0, 120).map(lambda n: struct.pack("!H", 0xC000 | n)),
    st.integers(0, 0x3FFF).map(lambda n: struct.pack("!H", 0xC000 | n)),
    st.sampled_from([TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_AAAA, TYPE_SRV]).map(
        lambda t: struct.pack("!HHIH", t, 0x8001, 120, 4)
    ),
    st.binary(min_size=1, max_size=4),
)


@given(st.tuples(*[st.integers(0, 6)] * 4), st.lists(atoms, max_size=40))
def test_pointer_soup(counts: tuple[int, int, int, int], parts: list[bytes]) -> None:
    decode_or_malformed(
        message(b"".join(parts), qd=counts[0], an=counts[1], ns=counts[2], ar=counts[3])
    )


@given(st.data())
def test_mutated_responses(data: st.DataObject) -> None:
    packet = bytearray(sample_response())
    for _ in range(data.draw(st.integers(1, 4))):
        what = data.draw(st.sampled_from(["set", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(0, len(packet) - 1)))
        if what == "set" and packet:
            packet[at] = data.draw(st.integers(0, 255))
        elif what == "cut":
            del packet[at:]
        elif what == "insert":
            packet[at:at] = data.draw(st.binary(min_size=1, max_size=4))
        elif packet:
            del packet[at]
    decode_or_malformed(bytes(packet))


def test_sample_response_decodes() -> None:
    qid, records = decode_response(sample_response())
    assert qid == 99 and len(records) == 5


# -- answers ---------------------------------------------------------------------------


def test_advert_from_a_zeroconf_response() -> None:
    addresses = [
        bytes.fromhex("fe80" + "00" * 13 + "07"),
        b"\xc0\xa8\x01\x02",
        bytes.fromhex("20010db8" + "00" * 11 + "01"),
        b"\xc0\xa8\x01\x02",
    ]
    answers = Answers()
    answers.add(decode_response(zc_response(zc_service(addresses=addresses)))[1], "eth0")
    assert answers.instances() == [LABEL]
    assert answers.advert(LABEL) == Advert(
        LABEL, "box.local", 5000, ("192.168.1.2", "fe80::7%eth0", "2001:db8::1"), TXT_DICT
    )
    assert answers.complete(LABEL)
    assert answers.missing() == []


def test_parts_arrive_one_by_one() -> None:
    answers = Answers()
    assert answers.instances() == [] and answers.missing() == []
    answers.add([ptr()])
    assert answers.advert(LABEL) is None and not answers.complete(LABEL)
    assert answers.missing() == [(INSTANCE, TYPE_SRV), (INSTANCE, TYPE_TXT)]
    answers.add([srv()])
    assert answers.advert(LABEL) is None
    assert answers.missing() == [(INSTANCE, TYPE_TXT), (HOST, TYPE_A), (HOST, TYPE_AAAA)]
    answers.add([txt()])
    assert answers.advert(LABEL) is None
    assert answers.missing() == [(HOST, TYPE_A), (HOST, TYPE_AAAA)]
    answers.add([aaaa("2001:db8::2")])
    advert = answers.advert(LABEL)
    assert advert is not None and advert.addresses == ("2001:db8::2",)
    assert answers.missing() == []
    answers.add([a("10.0.0.2"), aaaa("2001:db8::2"), a("10.0.0.1"), a("10.0.0.2")])
    advert = answers.advert(LABEL)
    assert advert is not None
    assert advert.addresses == ("10.0.0.2", "10.0.0.1", "2001:db8::2")
    assert (advert.host, advert.port, advert.txt) == ("box.local", 5000, TXT_DICT)


def test_missing_questions_can_be_asked() -> None:
    answers = Answers()
    label = "Systemtap Compile Server on h\u00f4st.x #2"
    answers.add([ptr(label), srv(label, ("h\u00f4st", "local"))])
    query = encode_query(answers.missing())
    assert [(q.name, q.type) for q in DNSIncoming(query).questions] == [
        (dotted((label, *SERVICE)), TYPE_TXT),  # zeroconf joins labels: the dot is lost
        ("h\u00f4st.local.", TYPE_A),
        ("h\u00f4st.local.", TYPE_AAAA),
    ]
    assert bytes((len(label.encode()),)) + label.encode() + b"\5_stap" in query


def test_records_in_any_order() -> None:
    answers = Answers()
    answers.add([a("10.0.0.1"), txt(), srv()])
    assert answers.instances() == []  # no PTR yet, but the advert is whole
    assert answers.complete(LABEL)
    answers.add([ptr()])
    assert answers.instances() == [LABEL]


def test_a_host_is_asked_for_once() -> None:
    answers = Answers()
    other = "Systemtap Compile Server on box #2"
    answers.add([ptr(), ptr(other), srv(), srv(other, ("BOX", "local"), port=5001)])
    assert answers.missing() == [
        (INSTANCE, TYPE_TXT),
        (HOST, TYPE_A),
        (HOST, TYPE_AAAA),
        ((other, *SERVICE), TYPE_TXT),
    ]
    answers.add([txt(), txt(other), a("10.0.0.1", ("Box", "LOCAL"))])
    assert answers.missing() == []
    first, second = answers.advert(LABEL), answers.advert(other)
    assert first is not None and second is not None
    assert (second.host, second.port, second.addresses) == ("BOX.local", 5001, ("10.0.0.1",))


def test_instances_in_order_first_seen() -> None:
    answers = Answers()
    labels = ["Systemtap Compile Server on b", "x.y #3 \u00e9", "Systemtap Compile Server on a"]
    for label in labels:
        answers.add([ptr(label)])
    answers.add([ptr(labels[0])])
    assert answers.instances() == labels


def test_goodbyes() -> None:
    answers = Answers()
    other = "Systemtap Compile Server on other"
    answers.add([ptr(), srv(), txt(), a("10.0.0.1"), a("10.0.0.2"), ptr(other)])
    answers.add([a("10.0.0.1", ttl=0)])
    advert = answers.advert(LABEL)
    assert advert is not None and advert.addresses == ("10.0.0.2",)
    answers.add([ptr(ttl=0)])
    assert answers.instances() == [other]
    assert answers.advert(LABEL) is None
    assert answers.missing() == [((other, *SERVICE), TYPE_SRV), ((other, *SERVICE), TYPE_TXT)]
    answers.add([ptr()])  # back again: last in order now, its SRV and TXT to ask anew
    assert answers.instances() == [other, LABEL]
    assert (INSTANCE, TYPE_SRV) in answers.missing()
    answers.add([srv(), txt()])
    assert answers.complete(LABEL)
    answers.add([txt(ttl=0)])
    assert not answers.complete(LABEL)
    assert answers.missing()[-1] == (INSTANCE, TYPE_TXT)
    answers.add([txt(), srv(ttl=0)])
    assert answers.missing()[-1] == (INSTANCE, TYPE_SRV)
    answers.add([srv(), a("10.0.0.2", ttl=0)])
    assert not answers.complete(LABEL)
    assert answers.missing()[-2:] == [(HOST, TYPE_A), (HOST, TYPE_AAAA)]


def test_goodbye_from_zeroconf() -> None:
    answers = Answers()
    answers.add(decode_response(zc_response(zc_service()))[1])
    assert answers.complete(LABEL)
    answers.add(decode_response(zc_response(zc_service(ttl=0)[:1]))[1])
    assert answers.instances() == [] and answers.advert(LABEL) is None


def test_names_match_without_ascii_case() -> None:
    answers = Answers()
    upper = tuple(x.upper() for x in INSTANCE)
    answers.add(
        [Record(("_STAP", "_Tcp", "LOCAL"), TYPE_PTR, 120, (LABEL, "_STAP", "_TCP", "local"))]
    )
    answers.add([Record(upper, TYPE_SRV, 120, Srv(0, 0, 7, ("Box", "Local")))])
    answers.add([Record(upper, TYPE_TXT, 120, TXT), a("10.0.0.1", ("BOX", "LOCAL"))])
    answers.add([ptr(LABEL.lower())])
    assert answers.instances() == [LABEL]
    for label in (LABEL, LABEL.upper(), LABEL.lower()):
        advert = answers.advert(label)
        assert advert is not None
        assert (advert.name, advert.host, advert.port) == (LABEL, "Box.Local", 7)
    answers.add([ptr(LABEL.upper(), ttl=0)])
    assert answers.instances() == []


def test_only_ascii_case_is_folded() -> None:
    answers = Answers()
    label = "Serveur \u00c9t\u00e9"
    answers.add([ptr(label), ptr(label.lower()), srv(label, ("\u00c9", "local")), txt(label)])
    answers.add([a("10.0.0.1", ("\u00e9", "local"))])
    assert answers.instances() == [label, label.lower()]
    assert answers.advert(label) is None
    answers.add([a("10.0.0.1", ("\u00c9", "LOCAL"))])
    assert answers.complete(label)


@pytest.mark.parametrize(
    ("address", "scope", "seen"),
    [
        ("fe80::1", "eth0", "fe80::1%eth0"),
        ("fe80::1", None, "fe80::1"),
        ("febf:ffff::1", "wlan0", "febf:ffff::1%wlan0"),  # the top of fe80::/10
        ("fec0::1", "eth0", "fec0::1"),
        ("fe7f::1", "eth0", "fe7f::1"),
        ("2001:db8::1", "eth0", "2001:db8::1"),
        ("fe80::1%eth1", "eth0", "fe80::1%eth1"),  # already scoped
    ],
)
def test_link_local_addresses_get_their_scope(address: str, scope: str | None, seen: str) -> None:
    answers = Answers()
    answers.add([srv(), txt(), aaaa(address)], scope)
    advert = answers.advert(LABEL)
    assert advert is not None and advert.addresses == (seen,)


def test_ipv4_link_local_and_two_interfaces() -> None:
    answers = Answers()
    answers.add([srv(), txt(), a("169.254.1.1"), aaaa("fe80::1")], "eth0")
    answers.add([aaaa("fe80::1"), a("169.254.1.1")], "wlan0")
    advert = answers.advert(LABEL)
    assert advert is not None
    assert advert.addresses == ("169.254.1.1", "fe80::1%eth0", "fe80::1%wlan0")
    answers.add([aaaa("fe80::1", ttl=0)], "eth0")
    advert = answers.advert(LABEL)
    assert advert is not None and advert.addresses == ("169.254.1.1", "fe80::1%wlan0")


def test_other_services_are_ignored() -> None:
    answers = Answers()
    answers.add(
        [
            Record(("_http", "_tcp", "local"), TYPE_PTR, 120, ("web", "_http", "_tcp", "local")),
            Record(SERVICE, TYPE_PTR, 120, ("web", "_http", "_tcp", "local")),
            Record(SERVICE, TYPE_PTR, 120, ("x", "_sub", *SERVICE)),
            Record(SERVICE, TYPE_PTR, 120, SERVICE),
            Record(("_services", "_dns-sd", "_udp", "local"), TYPE_PTR, 120, SERVICE),
            Record(("web", "_http", "_tcp", "local"), TYPE_SRV, 120, Srv(0, 0, 80, HOST)),
            Record(("web", "_http", "_tcp", "local"), TYPE_TXT, 120, TXT),
            a("10.0.0.1"),
        ]
    )
    assert answers.instances() == []
    assert answers.advert("web") is None
    assert answers.missing() == []


def test_root_target_means_no_service() -> None:
    answers = Answers()
    answers.add([ptr(), srv(host=()), txt()])
    assert answers.advert(LABEL) is None
    assert answers.missing() == []


def test_later_records_replace_earlier() -> None:
    answers = Answers()
    answers.add([ptr(), srv(), txt(), a("10.0.0.1")])
    answers.add([srv(port=6000), txt(strings=(b"version=5.0",))])
    advert = answers.advert(LABEL)
    assert advert is not None
    assert (advert.port, advert.txt) == (6000, {"version": "5.0"})


@pytest.mark.parametrize(
    ("strings", "entries"),
    [
        ((b"a=b=c",), {"a": "b=c"}),
        ((b"flag",), {"flag": ""}),
        ((b"key=",), {"key": ""}),
        ((b"",), {}),
        ((), {}),
        ((b"=value", b"x=1"), {"x": "1"}),
        ((b"dup=1", b"dup=2", b"dup"), {"dup": "1"}),
        ((b"flag", b"flag=2"), {"flag": ""}),
        ((b"\xff=\xfe",), {"\ufffd": "\ufffd"}),
        ((b"v=caf\xc3\xa9 \x00",), {"v": "caf\u00e9 \x00"}),
    ],
)
def test_txt_entries(strings: tuple[bytes, ...], entries: dict[str, str]) -> None:
    answers = Answers()
    answers.add([srv(), txt(strings=strings), a("10.0.0.1")])
    advert = answers.advert(LABEL)
    assert advert is not None and advert.txt == entries
    assert list(advert.txt) == list(entries)


def test_empty_txt_record_still_completes() -> None:
    """The TXT record is required, not its entries (RFC 6763 6.1)."""
    answers = Answers()
    answers.add([srv(), a("10.0.0.1")])
    assert answers.advert(LABEL) is None
    answers.add([txt(strings=())])
    assert answers.complete(LABEL)


def test_instance_labels_with_dots_end_to_end() -> None:
    """A label with a dot, spaces, '#' and UTF-8 goes from response to advert to query."""
    label = "Systemtap Compile Server on h\u00f4st.example #2"
    name = (label, *SERVICE)
    at = 12 + len(wire_name(SERVICE)) + 10  # the PTR's rdata: the instance name
    pointer = struct.pack("!H", 0xC000 | at)
    body = (
        rr(wire_name(SERVICE), TYPE_PTR, wire_name(name))
        + rr(pointer, TYPE_SRV, srv_rdata(5001, ("h\u00f4st", "local")))
        + rr(pointer, TYPE_TXT, txt_rdata([b"version=4.8"]), rclass=0x8001)
    )
    answers = Answers()
    answers.add(decode_response(message(body, an=3))[1])
    assert answers.instances() == [label]
    assert answers.missing() == [
        (("h\u00f4st", "local"), TYPE_A),
        (("h\u00f4st", "local"), TYPE_AAAA),
    ]
    answers.add([a("10.1.1.1", ("H\u00f4ST", "local"))])
    assert answers.advert(label) == Advert(
        label, "h\u00f4st.local", 5001, ("10.1.1.1",), {"version": "4.8"}
    )
    assert answers.advert("Systemtap Compile Server on h\u00f4st") is None

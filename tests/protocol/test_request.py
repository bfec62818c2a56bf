"""protocol.request: the request archive, encoded as SystemTap's client writes it and
decoded with every check."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stapserver.errors import ProtocolError
from stapserver.protocol import archive, request
from stapserver.protocol.request import Request

LIMITS = archive.Limits()
SYSINFO = ("sysinfo", b"sysinfo: 6.1.0-57-amd64 x86_64")


def entries_of(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def decode_entries(*entries: tuple[str, bytes]) -> Request:
    return request.decode(archive.build(list(entries)), LIMITS)


# ---------------------------------------------------------------------- encode


def test_encode_layout() -> None:
    req = Request(
        argv=["script/tmp/x.stp", "-p4"],
        release="6.1.0-57-amd64",
        arch="x86_64",
        locale={"LANG": "C.UTF-8", "LC_TIME": "C"},
        files={"script/tmp/x.stp": b"probe begin {}", "tapset/usr/t/a.stp": b"#"},
    )
    assert entries_of(request.encode(req)) == [
        ("version", b"4.8"),
        ("argv1", b"script/tmp/x.stp"),
        ("argv2", b"-p4"),
        ("sysinfo", b"sysinfo: 6.1.0-57-amd64 x86_64"),
        ("locale", b"LANG=C.UTF-8\nLC_TIME=C\n"),
        ("script/tmp/x.stp", b"probe begin {}"),
        ("tapset/usr/t/a.stp", b"#"),
    ]


def test_encode_is_deterministic() -> None:
    req = Request(argv=["-e", "probe begin {}"], release="6.1", arch="x86_64")
    assert request.encode(req) == request.encode(req)


def test_encode_mok_fingerprints() -> None:
    def mok_entry(fingerprints: list[str] | None) -> bytes | None:
        req = Request(argv=[], release="6.1", arch="x86_64", mok_fingerprints=fingerprints)
        return dict(entries_of(request.encode(req))).get("mok_fingerprints")

    assert mok_entry(None) is None
    assert mok_entry([]) == b"missing\n"
    assert mok_entry(["aa:bb", "cc:dd"]) == b"aa:bb\ncc:dd\n"


def test_encode_refuses_unsafe_file_names() -> None:
    req = Request(argv=[], release="6.1", arch="x86_64", files={"script/../../etc/x": b""})
    with pytest.raises(ProtocolError):
        request.encode(req)


# ---------------------------------------------------------------------- round trip


def test_round_trip_with_non_utf8_argv() -> None:
    req = Request(
        argv=["script/tmp/x.stp", "-e\udcff\udcfe", "--", "caf\u00e9", "", "\udc80x"],
        release="6.1.0-57-amd64",
        arch="x86_64",
        version="5.4",
        locale={"LANG": "en_US.UTF-8", "LC_ALL": "C"},
        files={"script/tmp/x.stp": b"\xff\x00probe", "tapset/a/b/c.stp": b""},
        mok_fingerprints=["aa:bb:cc"],
    )
    data = request.encode(req)
    raw = dict(entries_of(data))
    assert raw["argv2"] == b"-e\xff\xfe"
    assert raw["argv4"] == "caf\u00e9".encode()
    assert raw["argv5"] == b""
    assert raw["argv6"] == b"\x80x"
    assert request.decode(data, LIMITS) == req


_SAFE_PART = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8)
_PAYLOAD_NAME = st.tuples(
    st.sampled_from(["script", "tapset"]), st.lists(_SAFE_PART, min_size=1, max_size=3)
).map(lambda t: "/".join([t[0], *t[1]]))


@settings(max_examples=75, deadline=None)
@given(
    argv=st.lists(st.binary(max_size=40), max_size=12),
    files=st.dictionaries(_PAYLOAD_NAME, st.binary(max_size=200), max_size=5),
    locale=st.dictionaries(
        st.sampled_from(request.LOCALE_NAMES),
        st.text(alphabet="abcXYZ019@_.=-", max_size=12),
    ),
)
def test_random_requests_round_trip(
    argv: list[bytes], files: dict[str, bytes], locale: dict[str, str]
) -> None:
    req = Request(
        argv=[a.decode("utf-8", "surrogateescape") for a in argv],
        release="6.1.0-57-amd64",
        arch="x86_64",
        locale=locale,
        files=files,
    )
    data = request.encode(req)
    raw = dict(entries_of(data))
    for i, arg in enumerate(argv, 1):
        assert raw[f"argv{i}"] == arg
    assert request.decode(data, LIMITS) == req


# ---------------------------------------------------------------------- version


def test_version_absent_means_1_0() -> None:
    req = decode_entries(("argv1", b"-p1"), SYSINFO)
    assert req.version == "1.0"


@pytest.mark.parametrize("text", [b"4.8", b"5.4", b"10", b"4.8\n", b"1.2.3"])
def test_numeric_versions_accepted(text: bytes) -> None:
    assert decode_entries(("version", text), SYSINFO).version == text.decode().strip()


@pytest.mark.parametrize("text", [b"4.x", b"", b"v4.8", b"4..8", b"4.8.", b"-1", b"4,8", b"4 8"])
def test_non_numeric_version_refused(text: bytes) -> None:
    with pytest.raises(ProtocolError, match="is not a dotted number"):
        decode_entries(("version", text), SYSINFO)


def test_parse_version() -> None:
    assert request.parse_version("4.10") == (4, 10)
    assert request.parse_version("5") == (5,)
    assert request.parse_version("4.8") < request.parse_version("4.10")


# ---------------------------------------------------------------------- argv


def test_argv_order_follows_numbers_not_archive_order() -> None:
    req = decode_entries(
        ("argv3", b"c"), ("argv1", b"a"), ("argv10", b"j"), SYSINFO,
        *[(f"argv{i}", bytes([96 + i])) for i in (2, 4, 5, 6, 7, 8, 9)],
    )  # fmt: skip
    assert req.argv == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]


def test_no_arguments_accepted() -> None:
    assert decode_entries(SYSINFO).argv == []


@pytest.mark.parametrize(
    "names", [("argv1", "argv3"), ("argv2",), ("argv1", "argv2", "argv4"), ("argv2", "argv3")]
)
def test_argv_numbering_gaps_refused(names: tuple[str, ...]) -> None:
    with pytest.raises(ProtocolError) as err:
        decode_entries(*[(n, b"x") for n in names], SYSINFO)
    assert str(err.value) == "request arguments are not numbered argv1 to argvN"


def test_too_long_argument_refused() -> None:
    with pytest.raises(ProtocolError, match=r"^argv1 is longer than"):
        decode_entries(("argv1", b"x" * (request.MAX_ARG_BYTES + 1)), SYSINFO)
    long_ok = decode_entries(("argv1", b"x" * request.MAX_ARG_BYTES), SYSINFO)
    assert len(long_ok.argv[0]) == request.MAX_ARG_BYTES


def test_too_many_arguments_refused() -> None:
    n = request.MAX_ARGS + 1
    with pytest.raises(ProtocolError, match=f"request has {n} arguments"):
        decode_entries(*[(f"argv{i}", b"") for i in range(1, n + 1)], SYSINFO)


# ---------------------------------------------------------------------- sysinfo


def test_sysinfo_parsed() -> None:
    req = decode_entries(("sysinfo", b"sysinfo: 6.1.0-57-amd64 x86_64\n"))
    assert (req.release, req.arch) == ("6.1.0-57-amd64", "x86_64")


def test_sysinfo_missing_refused() -> None:
    with pytest.raises(ProtocolError, match=r"^request has no sysinfo$"):
        decode_entries(("argv1", b"-p1"))


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"sysinfo:",
        b"sysinfo: 6.1.0",
        b"sysinfo 6.1.0 x86_64",
        b"6.1.0 x86_64",
        b"sysinfo: 6.1.0 x86_64 extra",
        b"sysinfo: 6.1;id x86_64",
        b"sysinfo: 6.1.0 x86-64",
        b"sysinfo: $(id) x86_64",
        b"sysinfo: 6.1.0 x86_64/../",
    ],
)
def test_malformed_sysinfo_refused(text: bytes) -> None:
    with pytest.raises(ProtocolError, match="malformed sysinfo"):
        decode_entries(("sysinfo", text))


# ---------------------------------------------------------------------- locale


def test_locale_filtering() -> None:
    text = (
        b"LANG=en_US.UTF-8\n"
        b"LC_ALL=C\n"
        b"LC_CTYPE=de_DE@euro\n"
        b"LC_COLLATE=a=b\n"
        b"LC_MESSAGES=\n"
        b"LC_TIME=bad value\n"
        b"LC_MONETARY=$(id)\n"
        b"LC_NUMERIC=x;y\n"
        b"LC_PAPER=C\n"
        b"PATH=/bin\n"
        b"LANGUAGE=fr\n"
        b"LANG\n"
        b"=C\n"
    )
    req = decode_entries(SYSINFO, ("locale", text))
    assert req.locale == {
        "LANG": "en_US.UTF-8",
        "LC_ALL": "C",
        "LC_CTYPE": "de_DE@euro",
        "LC_COLLATE": "a=b",
        "LC_MESSAGES": "",
    }


def test_all_eight_locale_names_accepted() -> None:
    assert request.LOCALE_NAMES == (
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "LC_COLLATE",
        "LC_MESSAGES",
        "LC_TIME",
        "LC_MONETARY",
        "LC_NUMERIC",
    )
    text = "".join(f"{n}=v{i}\n" for i, n in enumerate(request.LOCALE_NAMES)).encode()
    req = decode_entries(SYSINFO, ("locale", text))
    assert req.locale == {n: f"v{i}" for i, n in enumerate(request.LOCALE_NAMES)}


def test_locale_absent_or_empty() -> None:
    assert decode_entries(SYSINFO).locale == {}
    assert decode_entries(SYSINFO, ("locale", b"")).locale == {}


# ---------------------------------------------------------------------- payload


def test_script_and_tapset_files_kept_others_dropped() -> None:
    req = decode_entries(
        SYSINFO,
        ("script/tmp/x.stp", b"s"),
        ("script/-", b"stdin"),
        ("tapset/usr/share/t/a.stp", b"t"),
        ("scriptx", b"no"),
        ("tapsetfoo/a", b"no"),
        ("other/x", b"no"),
        ("stap000000/x.ko", b"no"),
        ("README", b"no"),
    )
    assert req.files == {
        "script/tmp/x.stp": b"s",
        "script/-": b"stdin",
        "tapset/usr/share/t/a.stp": b"t",
    }


def test_mok_fingerprints_decoded() -> None:
    assert decode_entries(SYSINFO).mok_fingerprints is None
    assert decode_entries(SYSINFO, ("mok_fingerprints", b"missing\n")).mok_fingerprints == []
    req = decode_entries(SYSINFO, ("mok_fingerprints", b"aa:bb\ncc:dd\n"))
    assert req.mok_fingerprints == ["aa:bb", "cc:dd"]


def test_archive_limits_apply() -> None:
    data = request.encode(Request(argv=["x" * 1000], release="6.1", arch="x86_64"))
    with pytest.raises(ProtocolError):
        request.decode(data, archive.Limits(max_compressed=len(data) - 1))
    with pytest.raises(ProtocolError):
        request.decode(data, archive.Limits(max_uncompressed=999))


def test_size_limits_name_the_server_options_that_set_them() -> None:
    """Issue 11, 6: a request over a size limit says which of the server's options sets
    it (the message the client reads after "stap-serverd: bad request: ")."""
    data = request.encode(Request(argv=["x" * 1000], release="6.1", arch="x86_64"))
    with pytest.raises(ProtocolError) as err:
        request.decode(data, archive.Limits(max_uncompressed=999))
    assert str(err.value) == (
        "archive would unpack to more than 999 bytes "
        "(the limit, which the server's --max-request-size sets)"
    )
    with pytest.raises(ProtocolError) as err:
        request.decode(data, archive.Limits(max_compressed=len(data) - 1))
    assert str(err.value) == (
        f"archive is {len(data)} bytes, more than {len(data) - 1} "
        "(the limit, which the server's --max-compressed-request sets)"
    )


class _Endless(io.RawIOBase):
    """An entry whose header understates it: it inflates for ever."""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return bytes(size if size > 0 else 1 << 16)


def test_size_limit_met_while_inflating_names_its_option(monkeypatch: pytest.MonkeyPatch) -> None:
    data = request.encode(Request(argv=["x"], release="6.1", arch="x86_64"))
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: _Endless())
    with pytest.raises(ProtocolError) as err:
        request.decode(data, archive.Limits(max_uncompressed=100_000))
    assert str(err.value) == (
        "archive unpacks to more than 100000 bytes "
        "(the limit, which the server's --max-request-size sets)"
    )


def test_unsafe_archive_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("sysinfo", SYSINFO[1])
        zf.writestr("script/../../etc/cron.d/x", b"* * * * * root id")
    with pytest.raises(ProtocolError):
        request.decode(out.getvalue(), LIMITS)

"""Tests for stapserver.runtime.tapset: tables from the tapset C bodies and man pages."""

from __future__ import annotations

import calendar
import dataclasses
import inspect
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stapserver.runtime import tapset
from stapserver.runtime.base import INT64_MAX, INT64_MIN, ScriptError
from stapserver.runtime.tapset import TapsetState

LITTLE_ENDIAN = sys.byteorder == "little"
ON_LINUX = sys.platform.startswith("linux")

# Byte strings as the runtime holds stap strings: no NUL.
cstrings = st.binary(max_size=200).map(lambda b: b.replace(b"\0", b"\1"))
longs = st.integers(min_value=INT64_MIN, max_value=INT64_MAX)


def raises_script_error(message: str) -> AbstractContextManager[pytest.ExceptionInfo[ScriptError]]:
    return pytest.raises(ScriptError, match=f"^{re.escape(message)}$")


@pytest.fixture
def state() -> TapsetState:
    return TapsetState(seed=0, tz_gmtoff=0, tz_name=b"UTC", stp_pid=4242)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Freeze gettimeofday_ns at now[0] ns."""
    now = [0]
    monkeypatch.setattr(tapset, "gettimeofday_ns", lambda: now[0])
    yield now


# --------------------------------------------------------------------------------------
# string.stp
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "expected"), [(b"", 0), (b"abc", 3), (b"\xc3\xa9", 2), (b"x" * 511, 511)]
)
def test_strlen(s: bytes, expected: int) -> None:
    assert tapset.strlen(s) == expected


@pytest.mark.parametrize(
    ("s", "start", "length", "expected"),
    [
        (b"hello", 0, 5, b"hello"),
        (b"hello", 1, 3, b"ell"),
        (b"hello", 3, 100, b"lo"),  # length beyond the end
        (b"hello", 4, 1, b"o"),
        (b"hello", 5, 1, b""),  # start == strlen
        (b"hello", 99, 1, b""),
        (b"hello", -1, 3, b""),  # negative start: empty, not from the end
        (b"hello", INT64_MIN, 3, b""),
        (b"hello", 0, 0, b""),
        (b"hello", 0, -5, b""),
        (b"hello", 0, INT64_MIN, b""),
        (b"hello", 2, INT64_MAX - 1, b"llo"),
        (b"hello", 2, INT64_MAX, b""),  # length + 1 overflows in the C clamp
        (b"", 0, 1, b""),
        (b"x" * 511, 0, 1000, b"x" * 511),
    ],
)
def test_substr(s: bytes, start: int, length: int, expected: bytes) -> None:
    assert tapset.substr(s, start, length) == expected


@given(cstrings, st.integers(0, 300), st.integers(0, INT64_MAX - 1))
def test_substr_is_a_slice(s: bytes, start: int, length: int) -> None:
    assert tapset.substr(s, start, length) == s[start : start + length]


@pytest.mark.parametrize(
    ("s", "pos", "expected"),
    [(b"abc", 0, 97), (b"abc", 2, 99), (b"\x7f", 0, 127), (b"\xff", 0, -1), (b"\x80", 0, -128)],
)
def test_stringat(s: bytes, pos: int, expected: int) -> None:
    assert tapset.stringat(s, pos) == expected


@pytest.mark.parametrize(("s", "pos"), [(b"abc", 3), (b"abc", -1), (b"", 0), (b"abc", INT64_MAX)])
def test_stringat_out_of_bounds(s: bytes, pos: int) -> None:
    with raises_script_error("Position out of bounds"):
        tapset.stringat(s, pos)


@given(st.binary(min_size=1, max_size=50), st.data())
def test_stringat_is_signed_char(s: bytes, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(s) - 1))
    assert tapset.stringat(s, i) == int.from_bytes(s[i : i + 1], "little", signed=True)


@pytest.mark.parametrize(
    ("s1", "s2", "isin", "pos"),
    [
        (b"hello", b"ell", 1, 1),
        (b"hello", b"l", 1, 2),
        (b"hello", b"", 1, 0),
        (b"", b"", 1, 0),
        (b"", b"a", 0, -1),
        (b"hello", b"lol", 0, -1),
        (b"hello", b"hello!", 0, -1),
        (b"aaa", b"aa", 1, 0),
        (b"abcabc", b"ca", 1, 2),
    ],
)
def test_isinstr_strpos(s1: bytes, s2: bytes, isin: int, pos: int) -> None:
    assert tapset.isinstr(s1, s2) == isin
    assert tapset.strpos(s1, s2) == pos


@given(cstrings, cstrings)
def test_strpos_agrees_with_isinstr(s1: bytes, s2: bytes) -> None:
    pos = tapset.strpos(s1, s2)
    assert tapset.isinstr(s1, s2) == (1 if pos >= 0 else 0)
    if pos >= 0:
        assert s1[pos : pos + len(s2)] == s2


@pytest.mark.parametrize(
    ("s", "srch", "rplc", "expected"),
    [
        (b"hello world", b"o", b"0", b"hell0 w0rld"),
        (b"aaa", b"aa", b"b", b"ba"),  # left to right, no overlap
        (b"aXbXc", b"X", b"XX", b"aXXbXXc"),  # no rescanning of the replacement
        (b"abc", b"", b"x", b"abc"),  # empty search string: unchanged
        (b"abc", b"abc", b"", b""),
        (b"abc", b"x", b"y", b"abc"),
        (b"", b"a", b"b", b""),
        (b"x" * 300, b"x", b"yy", b"yy" * 300),  # longer than MAXSTRINGLEN: caller truncates
    ],
)
def test_str_replace(s: bytes, srch: bytes, rplc: bytes, expected: bytes) -> None:
    assert tapset.str_replace(s, srch, rplc) == expected


@given(cstrings, cstrings.filter(bool), cstrings)
def test_str_replace_matches_bytes_replace(s: bytes, srch: bytes, rplc: bytes) -> None:
    assert tapset.str_replace(s, srch, rplc) == s.replace(srch, rplc)


@pytest.mark.parametrize(
    ("s", "base", "expected"),
    [
        (b"123", 10, 123),
        (b"-123", 10, -123),
        (b"0", 10, 0),
        (b"12abc", 10, 12),  # stops at the first invalid character
        (b"abc", 10, 0),  # invalid input: 0
        (b"", 10, 0),
        (b" 12", 10, 0),  # no whitespace skipping (the kernel's simple_strtol)
        (b"+12", 10, 0),  # no '+'
        (b"-", 10, 0),
        (b"--5", 10, 0),
        (b"ff", 16, 255),
        (b"FF", 16, 255),
        (b"0xff", 16, 255),
        (b"0XfF", 16, 255),
        (b"-0x10", 16, -16),
        (b"0x", 16, 0),
        (b"0xg", 16, 0),
        (b"777", 8, 511),
        (b"778", 8, 63),
        (b"0777", 0, 511),  # base 0: leading 0 is octal
        (b"0x1A", 0, 26),  # base 0: 0x is hex
        (b"0xz", 0, 0),  # base 0: 0x without a hex digit is octal "0"
        (b"089", 0, 0),
        (b"12", 0, 12),
        (b"-010", 0, -8),
        (b"101", 2, 5),
        (b"102", 2, 2),
        (b"19", 36, 45),  # any base, but only 0-9a-f are digits
        (b"z", 36, 0),
        (b"10", 1, 0),
        (b"12", (1 << 32) + 16, 18),  # base is an unsigned int
        (b"10", -1, 0xFFFFFFFF),
        (b"9223372036854775807", 10, INT64_MAX),
        (b"9223372036854775808", 10, INT64_MIN),  # wraps
        (b"-9223372036854775808", 10, INT64_MIN),
        (b"18446744073709551615", 10, -1),
        (b"18446744073709551616", 10, 0),
        (b"ffffffffffffffff", 16, -1),
    ],
)
def test_strtol(s: bytes, base: int, expected: int) -> None:
    assert tapset.strtol(s, base) == expected


def _in_base(n: int, base: int) -> bytes:
    digits = "0123456789abcdef"
    out = ""
    m = abs(n)
    while True:
        m, d = divmod(m, base)
        out = digits[d] + out
        if m == 0:
            break
    return (("-" if n < 0 else "") + out).encode()


@given(st.integers(-(2**63) + 1, INT64_MAX), st.integers(2, 16))
def test_strtol_roundtrip(n: int, base: int) -> None:
    assert tapset.strtol(_in_base(n, base), base) == n
    assert tapset.strtol(str(n).encode(), 10) == n


@pytest.mark.parametrize(
    ("s", "expected"),
    [(b"0", 1), (b"9abc", 1), (b"a1", 0), (b"", 0), (b" 1", 0), (b"\xd9", 0), (b"-1", 0)],
)
def test_isdigit(s: bytes, expected: int) -> None:
    assert tapset.isdigit(s) == expected


# text_str / text_strn / string_quoted ---------------------------------------------------


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        (b"", b""),
        (b"hello, world!", b"hello, world!"),
        (b'a"b', b'a\\"b'),
        (b"a\\b", b"a\\\\b"),
        (b"'", b"'"),
        (b"\a\b\f\n\r\t\v", b"\\a\\b\\f\\n\\r\\t\\v"),
        (b"\x01", b"\\001"),
        (b"\x1b[0m", b"\\033[0m"),
        (b"\x7f", b"\\177"),
        (b"1\x012", b"1\\0012"),
        (b"\xc3\xa9", b"\\u00E9"),  # valid UTF-8: \u
        (b"caf\xc3\xa9!", b"caf\\u00E9!"),
        (b"\xe2\x82\xac", b"\\u20AC"),
        (b"\xef\xbf\xbf", b"\\uFFFF"),
        (b"\xf0\x9f\x98\x80", b"\\U0001F600"),
        (b"\xf4\x8f\xbf\xbf", b"\\U0010FFFF"),
        (b"\xff", b"\\377"),  # not UTF-8: octal bytes
        (b"\xc3", b"\\303"),  # truncated sequence
        (b"\xc3(", b"\\303("),  # bad continuation
        (b"\xe2\x82", b"\\342\\202"),
        (b"\xc0\x80", b"\\300\\200"),  # overlong
        (b"\xe0\x80\xaf", b"\\340\\200\\257"),  # overlong
        (b"\xed\xa0\x80", b"\\355\\240\\200"),  # UTF-16 surrogate
        (b"\xf4\x90\x80\x80", b"\\364\\220\\200\\200"),  # beyond U+10FFFF
        (b"\xf8\x88\x80\x80\x80", b"\\370\\210\\200\\200\\200"),  # 5-byte form
        (b"\x80abc", b"\\200abc"),  # lone continuation byte
    ],
)
def test_text_str(s: bytes, expected: bytes) -> None:
    assert tapset.text_str(s) == expected


def test_text_str_limits_output_to_maxstringlen() -> None:
    assert tapset.text_str(b"x" * 511) == b"x" * 511
    # 127 four-byte escapes fit in 511 bytes, a 128th does not and is dropped whole
    assert tapset.text_str(b"\x01" * 200) == b"\\001" * 127
    assert tapset.text_str(b"a" * 510 + b"\n") == b"a" * 510
    assert tapset.text_str(b"a" * 505 + b"\xc3\xa9") == b"a" * 505 + b"\\u00E9"
    assert tapset.text_str(b"a" * 506 + b"\xc3\xa9") == b"a" * 506
    assert tapset.text_str(b"abcdef", maxstringlen=4) == b"abc"


@pytest.mark.parametrize(
    ("s", "length", "quoted", "expected"),
    [
        (b"hello", 0, 0, b"hello"),  # 0: MAXSTRINGLEN
        (b"hello", -5, 0, b"hello"),
        (b"hello", 3, 0, b"hel"),
        (b"hello", 5, 0, b"hello"),
        (b"hello", 1000, 0, b"hello"),
        (b"a\nb", 3, 0, b"a\\n"),
        (b"a\nb", 2, 0, b"a"),  # an escape that does not fit is dropped whole
        (b"\xc3\xa9x", 5, 0, b""),
        (b"hello", 0, 1, b'"hello"'),
        (b"hello", 7, 1, b'"hello"'),  # exact fit: no ellipsis
        (b"hello", 6, 1, b'"h"...'),
        (b"hello world", 8, 1, b'"hel"...'),
        (b"hello", 1, 1, b'""...'),  # len is at least 5 when quoted
        (b"hello", 5, 1, b'""...'),
        (b"", 1, 1, b'""'),
        (b"abXcdefgh", 8, 1, b'"abX"...'),
        (b"ab\ncdefgh", 8, 1, b'"ab"...'),  # the ellipsis never cuts an escape in two
        (b"\xc3\xa9\xc3\xa9", 10, 1, b'""...'),
        (b"\xc3\xa9\xc3\xa9", 14, 1, b'"\\u00E9\\u00E9"'),
        (b'say "hi"', 0, 1, b'"say \\"hi\\""'),
        (b"hi", 0, 1 << 32, b"hi"),  # quoted is a C int
        (b"hi", 0, (1 << 32) + 1, b'"hi"'),
        (b"hi", 0, -1, b'"hi"'),
    ],
)
def test_text_strn(s: bytes, length: int, quoted: int, expected: bytes) -> None:
    assert tapset.text_strn(s, length, quoted) == expected


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        (b"", b'""'),
        (b"abc", b'"abc"'),
        (b'a"b\\c\n', b'"a\\"b\\\\c\\n"'),
        (b"\xc3\xa9", b'"\\u00E9"'),
        (b"x" * 509, b'"' + b"x" * 509 + b'"'),  # 511 bytes: fits
        (b"x" * 510, b'"' + b"x" * 506 + b'"...'),
        (b"x" * 511, b'"' + b"x" * 506 + b'"...'),
    ],
)
def test_string_quoted(s: bytes, expected: bytes) -> None:
    assert tapset.string_quoted(s) == expected


_UNESCAPES = {b"a": 7, b"b": 8, b"f": 12, b"n": 10, b"r": 13, b"t": 9, b"v": 11}


def _unescape(text: bytes) -> bytes:
    def one(m: re.Match[bytes]) -> bytes:
        e = m.group(1)
        if e[:1] in (b"u", b"U"):
            return chr(int(e[1:], 16)).encode()
        if e[:1].isdigit():
            return bytes([int(e, 8)])
        if e in _UNESCAPES:
            return bytes([_UNESCAPES[e]])
        return e

    return re.sub(rb"\\(u[0-9A-F]{4}|U[0-9A-F]{8}|[0-7]{3}|.)", one, text)


@given(cstrings)
def test_text_str_is_printable_ascii(s: bytes) -> None:
    out = tapset.text_str(s)
    assert len(out) <= 511
    assert all(0x20 <= c < 0x7F for c in out)


@given(st.binary(max_size=127).map(lambda b: b.replace(b"\0", b"\1")))
def test_text_str_roundtrips(s: bytes) -> None:
    assert _unescape(tapset.text_str(s)) == s


@given(cstrings, st.integers(1, 511))
def test_text_strn_unquoted_is_a_prefix(s: bytes, n: int) -> None:
    out = tapset.text_strn(s, n, 0)
    full = tapset.text_str(s)
    assert full.startswith(out)
    assert len(out) <= n
    assert len(out) > n - 10 or out == full


@given(cstrings, st.integers(1, 511))
def test_text_strn_quoted(s: bytes, n: int) -> None:
    out = tapset.text_strn(s, n, 1)
    full = tapset.text_str(s)
    limit = max(n, 5)
    assert len(out) <= limit
    if len(full) + 2 <= limit:
        assert out == b'"' + full + b'"'
    else:
        assert out.endswith(b'"...')
        assert full.startswith(out[1:-4])


@given(cstrings)
def test_string_quoted_is_text_strn_0_1(s: bytes) -> None:
    assert tapset.string_quoted(s) == tapset.text_strn(s, 0, 1)


# --------------------------------------------------------------------------------------
# tokenize.stp
# --------------------------------------------------------------------------------------


def test_tokenize_sequence(state: TapsetState) -> None:
    assert tapset.tokenize(state, b"a,b,,c", b",") == b"a"
    assert tapset.tokenize(state, b"", b",") == b"b"
    assert tapset.tokenize1(state, b",") == b"c"  # empty tokens are skipped
    assert tapset.tokenize1(state, b",") == b""
    assert tapset.tokenize1(state, b",") == b""


@pytest.mark.parametrize(
    ("s", "delim", "tokens"),
    [
        (b",,a,,", b",", [b"a"]),
        (b"a b\tc", b" \t", [b"a", b"b", b"c"]),
        (b"abc", b"", [b"abc"]),  # no delimiters: the whole string
        (b"abc", b"x", [b"abc"]),
        (b",,,", b",", []),
        (b"/usr/bin/stap", b"/", [b"usr", b"bin", b"stap"]),
    ],
)
def test_tokenize_tokens(state: TapsetState, s: bytes, delim: bytes, tokens: list[bytes]) -> None:
    got = [tapset.tokenize(state, s, delim)]
    while got[-1]:
        got.append(tapset.tokenize(state, b"", delim))
    assert got == [*tokens, b""]


def test_tokenize_before_any_input(state: TapsetState) -> None:
    assert tapset.tokenize1(state, b",") == b""
    assert tapset.tokenize(state, b"", b",") == b""


def test_tokenize_delimiters_may_change(state: TapsetState) -> None:
    assert tapset.tokenize(state, b"a,b;c,d", b",") == b"a"
    assert tapset.tokenize(state, b"", b";") == b"b"
    assert tapset.tokenize(state, b"", b"") == b"c,d"


def test_tokenize_restarts_on_new_input(state: TapsetState) -> None:
    assert tapset.tokenize(state, b"a b c", b" ") == b"a"
    assert tapset.tokenize(state, b"x y", b" ") == b"x"
    assert tapset.tokenize(state, b"", b" ") == b"y"
    assert tapset.tokenize(state, b"", b" ") == b""


def test_tokenize_state_is_per_session() -> None:
    s1, s2 = TapsetState(), TapsetState()
    assert tapset.tokenize(s1, b"a b", b" ") == b"a"
    assert tapset.tokenize(s2, b"x y", b" ") == b"x"
    assert tapset.tokenize1(s1, b" ") == b"b"
    assert tapset.tokenize1(s2, b" ") == b"y"


@given(cstrings, st.binary(max_size=4).map(lambda b: b.replace(b"\0", b"\1")))
def test_tokenize_model(s: bytes, delim: bytes) -> None:
    state = TapsetState()
    if delim:
        expected = [t for t in re.split(b"[" + re.escape(delim) + b"]", s) if t]
    else:
        expected = [s] if s else []
    got = [tapset.tokenize(state, s, delim)] if s else [b""]
    while got[-1]:
        got.append(tapset.tokenize1(state, delim))
    assert got == [*expected, b""]


# --------------------------------------------------------------------------------------
# random.stp
# --------------------------------------------------------------------------------------


def test_randint_lcg(state: TapsetState) -> None:
    # seed = seed * 1103515245 + 12345 (mod 2**64), result seed % n; seed 0
    assert tapset.randint(state, 10) == 5
    assert tapset.randint(state, 1000) == 870
    assert tapset.randint(state, 1 << 20) == 272351
    assert tapset.randint(state, 10) == 2


def test_randint_zero(state: TapsetState) -> None:
    assert tapset.randint(state, 0) == 0


@pytest.mark.parametrize("n", [(1 << 20) + 1, -1, INT64_MIN, INT64_MAX])
def test_randint_range_too_wide(state: TapsetState, n: int) -> None:
    with raises_script_error("range too wide"):
        tapset.randint(state, n)


@given(st.integers(1, 1 << 20), st.integers(0, 2**64 - 1))
def test_randint_in_range(n: int, seed: int) -> None:
    state = TapsetState(seed=seed)
    assert 0 <= tapset.randint(state, n) < n


def test_randint_unseeded_state() -> None:
    state = TapsetState()
    assert all(0 <= tapset.randint(state, 6) < 6 for _ in range(100))


# --------------------------------------------------------------------------------------
# errno.stp
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("err", "name", "p"),
    [
        (2, b"ENOENT", 2),
        (-2, b"ENOENT", 2),
        (1, b"EPERM", 1),
        (11, b"EAGAIN", 11),
        (35, b"EDEADLK", 35),
        (68, b"EADV", 68),
        (95, b"EOPNOTSUPP", 95),
        (-131, b"ENOTRECOVERABLE", 131),
        (0, b"", 0),
        (41, b"", 0),  # holes in the table
        (58, b"", 0),
        (132, b"", 0),
        (3333, b"", 0),  # the man page's "E#3333" is not what the code does
        (INT64_MIN, b"", 0),
        (INT64_MAX, b"", 0),
    ],
)
def test_errno(err: int, name: bytes, p: int) -> None:
    assert tapset.errno_str(err) == name
    assert tapset.errno_p(err) == p


@pytest.mark.parametrize(
    ("fmt", "ret", "expected"),
    [
        (1, -2, b"-2 (ENOENT)"),
        (2, -2, b"-2 (ENOENT)"),
        (1, 5, b"5"),
        (1, -200, b"-200"),
        (2, 255, b"0xff"),
        (2, 0, b"0x0"),
        (2, -200, b"0xffffffffffffff38"),
        (3, 8, b"010"),
        (3, 0, b"00"),
        (0, 42, b"42"),
    ],
)
def test_return_str(fmt: int, ret: int, expected: bytes) -> None:
    assert tapset.return_str(fmt, ret) == expected


# --------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------

endian_cases = [
    (tapset.big_endian2, 0x1234, 0x3412),
    (tapset.big_endian2, 0x123456, 0x5634),
    (tapset.big_endian4, 0x12345678, 0x78563412),
    (tapset.big_endian4, -1, 0xFFFFFFFF),
    (tapset.big_endian8, 0x0102030405060708, 0x0807060504030201),
    (tapset.big_endian8, 0xFF, -0x0100000000000000),
    (tapset.little_endian2, 0x123456, 0x3456),
    (tapset.little_endian4, -1, 0xFFFFFFFF),
    (tapset.little_endian8, -1, -1),
    (tapset.htons, 0x1234, 0x3412),
    (tapset.htonl, 1, 0x01000000),
    (tapset.htonll, 1, 0x0100000000000000),
    (tapset.ntohs, 0x3412, 0x1234),
    (tapset.ntohl, 0x01000000, 1),
    (tapset.ntohll, 0x0100000000000000, 1),
]


@pytest.mark.skipif(not LITTLE_ENDIAN, reason="values for a little-endian host")
@pytest.mark.parametrize(("func", "value", "expected"), endian_cases)
def test_endian(func: Callable[[int], int], value: int, expected: int) -> None:
    assert func(value) == expected


@given(longs)
def test_byte_order_involutions(x: int) -> None:
    assert tapset.ntohs(tapset.htons(x)) == x & 0xFFFF
    assert tapset.ntohl(tapset.htonl(x)) == x & 0xFFFFFFFF
    assert tapset.ntohll(tapset.htonll(x)) == x
    assert tapset.big_endian8(tapset.big_endian8(x)) == x


@pytest.mark.parametrize(
    ("func", "args", "expected"),
    [
        (tapset.MKDEV, (8, 1), 8388609),
        (tapset.MAJOR, (8388609,), 8),
        (tapset.MINOR, (8388609,), 1),
        (tapset.MAJOR, (-1,), 0xFFFFFFFF),
        (tapset.MINOR, (-1,), 0xFFFFF),
        (tapset.usrdev2kerndev, (0x0801,), 8388609),
        (tapset.usrdev2kerndev, (0x12345678,), 0x45612378),
        (tapset.WIFEXITED, (0,), 1),
        (tapset.WIFEXITED, (0x0100,), 1),
        (tapset.WIFEXITED, (9,), 0),
        (tapset.WEXITSTATUS, (0x0100,), 1),
        (tapset.WEXITSTATUS, (0xFF00,), 255),
        (tapset.WTERMSIG, (9,), 9),
        (tapset.WTERMSIG, (0x8B,), 0x0B),
    ],
)
def test_conversions(func: Callable[..., int], args: tuple[int, ...], expected: int) -> None:
    assert func(*args) == expected


@given(st.integers(0, (1 << 12) - 1), st.integers(0, (1 << 20) - 1))
def test_mkdev_roundtrip(major: int, minor: int) -> None:
    dev = tapset.MKDEV(major, minor)
    assert (tapset.MAJOR(dev), tapset.MINOR(dev)) == (major, minor)


@pytest.mark.skipif(not LITTLE_ENDIAN, reason="values for a little-endian host")
@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        (0x0100007F, b"127.0.0.1"),
        (0, b"0.0.0.0"),
        (-1, b"255.255.255.255"),
        (0x1_0100007F, b"127.0.0.1"),
        (0x0101A8C0, b"192.168.1.1"),
    ],
)
def test_ip_ntop(addr: int, expected: bytes) -> None:
    assert tapset.ip_ntop(addr) == expected


@pytest.mark.parametrize(
    ("num", "expected"),
    [
        (1, b"HUP"),
        (9, b"KILL"),
        (17, b"CHLD"),
        (29, b"IO/POLL"),
        (31, b"SYS"),
        (32, b"RTMIN"),
        (33, b"RTMIN+1"),
        (64, b"RTMIN+32"),
        (0, b""),
        (65, b""),
        (-1, b""),
    ],
)
def test_signal_str(num: int, expected: bytes) -> None:
    assert tapset.signal_str(num) == expected


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (tapset.msecs_to_string, 0, b"0m0.000s"),
        (tapset.msecs_to_string, 1, b"0m0.001s"),
        (tapset.msecs_to_string, 61005, b"1m1.005s"),
        (tapset.msecs_to_string, 3600000, b"60m0.000s"),
        (tapset.msecs_to_string, -61005, b"-1m-1.-005s"),  # C division and %.3d
        (tapset.usecs_to_string, 1500000, b"0m1.500000s"),
        (tapset.nsecs_to_string, 123, b"0m0.000000123s"),
        (tapset.nsecs_to_string, 90 * 10**9 + 1, b"1m30.000000001s"),
    ],
)
def test_time_to_string(func: Callable[[int], bytes], value: int, expected: bytes) -> None:
    assert func(value) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, b"    0"),
        (-5, b"   -5"),
        (1023, b" 1023"),
        (1024, b"1.00K"),
        (1536, b"1.50K"),
        (10 * 1024, b"10.0K"),
        (10 * 1024 + 512, b"10.5K"),
        (100 * 1024, b" 100K"),
        (1023 * 1024, b"1023K"),
        (1024**2, b"1.00M"),
        (1024**3, b"1.00G"),
        (5000 * 1024**3, b"5000G"),
    ],
)
def test_bytes_to_string(n: int, expected: bytes) -> None:
    assert tapset.bytes_to_string(n) == expected


def test_pages_to_string(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tapset.mem_page_size() > 0
    monkeypatch.setattr(tapset, "mem_page_size", lambda: 4096)
    assert tapset.pages_to_string(1) == b"4.00K"
    assert tapset.pages_to_string(256) == b"1.00M"


# --------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secs", "expected"),
    [
        (0, b"Thu Jan  1 00:00:00 1970"),
        (-1, b"Wed Dec 31 23:59:59 1969"),
        (741476948, b"Wed Jun 30 21:49:08 1993"),  # the man page's example
        (951782400, b"Tue Feb 29 00:00:00 2000"),
        (2147483647, b"Tue Jan 19 03:14:07 2038"),
        (-2147483648, b"Fri Dec 13 20:45:52 1901"),
    ],
)
def test_ctime(secs: int, expected: bytes) -> None:
    assert tapset.ctime(secs) == expected


def test_ctime_out_of_range() -> None:
    with raises_script_error("Time too far in the future to be converted"):
        tapset.ctime(2147483648)
    with raises_script_error("Time too far in the past to be converted"):
        tapset.ctime(-2147483649)
    with raises_script_error("Time too far in the future to be converted"):
        tapset.ctime(INT64_MAX)


@given(st.integers(-(2**31), 2**31 - 1))
def test_ctime_is_asctime_of_gmtime(secs: int) -> None:
    out = tapset.ctime(secs)
    assert len(out) == 24
    assert out == time.asctime(time.gmtime(secs)).encode()


def test_ctime_without_argument(clock: list[int]) -> None:
    clock[0] = 741476948 * 10**9 + 999_999_999
    assert tapset.ctime0() == b"Wed Jun 30 21:49:08 1993"


def test_tz_functions() -> None:
    state = TapsetState(tz_gmtoff=-3600, tz_name=b"CET")
    assert tapset.tz_gmtoff(state) == -3600
    assert tapset.tz_name(state) == b"CET"
    assert tapset.tz_ctime(state, 0) == b"Thu Jan  1 01:00:00 1970 CET"
    west = TapsetState(tz_gmtoff=5 * 3600, tz_name=b"EST")
    assert tapset.tz_ctime(west, 0) == b"Wed Dec 31 19:00:00 1969 EST"
    with raises_script_error("Time too far in the future to be converted"):
        tapset.tz_ctime(state, 2147483647)


def test_tz_defaults_to_the_local_zone() -> None:
    state = TapsetState()
    now = time.localtime()
    assert state.tz_gmtoff == -now.tm_gmtoff
    assert state.tz_name == now.tm_zone.encode()


def test_gettimeofday(clock: list[int]) -> None:
    clock[0] = 1234567891234567891
    assert tapset.gettimeofday_ns() == 1234567891234567891
    assert tapset.gettimeofday_us() == 1234567891234567
    assert tapset.gettimeofday_ms() == 1234567891234
    assert tapset.gettimeofday_s() == 1234567891


def test_gettimeofday_is_wall_clock() -> None:
    before = time.time_ns()
    ns = tapset.gettimeofday_ns()
    assert before <= ns <= time.time_ns()
    assert abs(tapset.gettimeofday_s() - time.time()) < 2


def test_local_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    a = tapset.local_clock_ns()
    assert tapset.local_clock_ns() >= a
    assert tapset.ktime_get_ns() >= a
    monkeypatch.setattr(tapset, "local_clock_ns", lambda: 3_123_456_789)
    assert tapset.local_clock_us() == 3_123_456
    assert tapset.local_clock_ms() == 3_123
    assert tapset.local_clock_s() == 3


def test_cpu_clock() -> None:
    a = tapset.cpu_clock_ns(0)
    assert tapset.cpu_clock_ns(0) >= a
    assert tapset.cpu_clock_us(0) >= a // 1000
    assert tapset.cpu_clock_ms(0) >= a // 10**6
    assert tapset.cpu_clock_s(0) >= a // 10**9


@pytest.mark.parametrize("cpu", [-1, 100000, INT64_MIN])
def test_cpu_clock_offline(cpu: int) -> None:
    with raises_script_error(f"cpu {cpu} is not online"):
        tapset.cpu_clock_ns(cpu)
    with raises_script_error(f"cpu {cpu} is not online"):
        tapset.cpu_clock_s(cpu)


def test_parse_cpu_list() -> None:
    assert tapset._parse_cpu_list("0-3,5,7-8\n") == frozenset({0, 1, 2, 3, 5, 7, 8})
    assert tapset._parse_cpu_list("0\n") == frozenset({0})


def test_hz_and_jiffies() -> None:
    hz = tapset.HZ()
    assert 0 < hz <= 10000  # CONFIG_HZ: usually 100, 250, 300 or 1000
    j = tapset.jiffies()
    assert j >= (1 << 32) - 300 * hz  # INITIAL_JIFFIES
    assert tapset.jiffies() >= j


def test_get_cycles() -> None:
    a = tapset.get_cycles()
    assert tapset.get_cycles() >= a > 0


# --------------------------------------------------------------------------------------
# Context
# --------------------------------------------------------------------------------------


def test_ids() -> None:
    assert tapset.pid() == os.getpid()
    assert tapset.tid() == threading.get_native_id()
    assert tapset.ppid() == os.getppid()
    assert tapset.pgrp() == os.getpgrp()
    assert tapset.sid() == os.getsid(0)
    assert tapset.uid() == os.getuid()
    assert tapset.euid() == os.geteuid()
    assert tapset.gid() == os.getgid()
    assert tapset.egid() == os.getegid()


def test_tid_in_a_thread() -> None:
    seen: list[int] = []
    t = threading.Thread(target=lambda: seen.append(tapset.tid()))
    t.start()
    t.join()
    assert seen[0] != tapset.tid()
    assert tapset.pid() == os.getpid()


@pytest.mark.skipif(not ON_LINUX, reason="reads /proc")
def test_execname() -> None:
    with open("/proc/self/comm", "rb") as f:
        comm = f.read().rstrip(b"\n")
    assert tapset.execname() == comm
    assert 0 < len(tapset.execname()) <= 15
    assert tapset.pid2execname(os.getpid()) == comm
    with open(f"/proc/{os.getppid()}/comm", "rb") as f:
        assert tapset.pexecname() == f.read().rstrip(b"\n")


@pytest.mark.parametrize("pid", [0, -1, 1 << 40])
def test_pid2execname_no_such_task(pid: int) -> None:
    assert tapset.pid2execname(pid) == b""


def test_cpu() -> None:
    assert 0 <= tapset.cpu() < max(os.cpu_count() or 1, 1024)


def test_stp_pid(state: TapsetState) -> None:
    assert tapset.stp_pid(state) == 4242
    assert tapset.stp_pid(TapsetState()) == os.getpid()


ENVIRON = b"A=1\0B=hello=world\0EMPTY=\0PATH=/bin\0"


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tapset, "_environ_block", lambda: ENVIRON)


@pytest.mark.usefixtures("environ")
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (b"A", b"1"),
        (b"B", b"hello=world"),
        (b"EMPTY", b""),
        (b"PATH", b"/bin"),
        (b"NOPE", b""),
        (b"", b""),
        (b"hello", b""),
    ],
)
def test_env_var(state: TapsetState, name: bytes, expected: bytes) -> None:
    assert tapset.env_var(state, name) == expected


@pytest.mark.usefixtures("environ")
def test_env_var_uses_the_tokenizer(state: TapsetState) -> None:
    tapset.tokenize(state, b"x y z", b" ")
    assert tapset.env_var(state, b"A") == b"1"
    assert tapset.tokenize1(state, b" ") == b""  # the script's tokenization is gone
    assert tapset.env_var(state, b"NOPE") == b""
    assert tapset.tokenize1(state, b"=") == b"/bin"  # left inside the last entry


def test_env_var_reads_in_maxstringlen_chunks(
    state: TapsetState, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stap reads each entry with user_string (at most MAXSTRINGLEN - 2 bytes) and steps
    # over what it read: the tail of a long entry is taken for the next one.
    block = b"X=" + b"a" * 509 + b"Q=secret\0R=2\0"
    monkeypatch.setattr(tapset, "_environ_block", lambda: block)
    assert tapset.env_var(state, b"Q") == b"secret"
    assert tapset.env_var(state, b"R") == b"2"
    assert tapset.env_var(state, b"X") == b"a" * 508


@pytest.mark.skipif(not ON_LINUX, reason="reads /proc")
def test_env_var_real_environment(state: TapsetState) -> None:
    with open("/proc/self/environ", "rb") as f:
        first = f.read().split(b"\0")[0]
    name, _, value = first.partition(b"=")
    if name and len(first) < 500:
        assert tapset.env_var(state, name) == value


CMDLINE = b"prog\0-a\0\0b c\0"


@pytest.mark.parametrize(
    ("n", "m", "delim", "expected"),
    [
        (0, -1, b" ", b'prog -a "" b c'),
        (1, -1, b"|", b'-a|""|b c'),
        (1, 2, b",", b'-a,""'),
        (0, 0, b"", b"prog"),
        (2, 2, b"", b""),  # the first argument is never quoted
        (3, 3, b"", b"b c"),
        (4, 4, b"", b""),
        (2, 1, b" ", b""),  # m < n: nothing (the man page says "all from n")
        (-1, 0, b"+", b"+prog"),
    ],
)
def test_cmdline_args(
    monkeypatch: pytest.MonkeyPatch, n: int, m: int, delim: bytes, expected: bytes
) -> None:
    monkeypatch.setattr(tapset, "_cmdline_block", lambda: CMDLINE)
    assert tapset.cmdline_args(n, m, delim) == expected


def test_cmdline_arg_and_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tapset, "_cmdline_block", lambda: CMDLINE)
    assert tapset.cmdline_str() == b'prog -a "" b c'
    assert tapset.cmdline_arg(1) == b"-a"
    assert tapset.cmdline_arg(3) == b"b c"
    monkeypatch.setattr(tapset, "_cmdline_block", lambda: b"")
    assert tapset.cmdline_str() == b""


@pytest.mark.skipif(not ON_LINUX, reason="reads /proc")
def test_cmdline_real() -> None:
    with open("/proc/self/cmdline", "rb") as f:
        argv0 = f.read().split(b"\0")[0]
    if len(argv0) < 500:
        assert tapset.cmdline_arg(0) == argv0
        assert tapset.cmdline_str().startswith(argv0)


def test_loadavg() -> None:
    assert re.fullmatch(rb"\d+\.\d\d \d+\.\d\d \d+\.\d\d\n", tapset.sprint_loadavg())
    for i in range(3):
        assert tapset.get_loadavg_index(i) >= 0


@pytest.mark.parametrize("indx", [3, -1, INT64_MIN])
def test_loadavg_bad_index(indx: int) -> None:
    with raises_script_error(f"Invalid loadavg index {indx} specified."):
        tapset.get_loadavg_index(indx)


# --------------------------------------------------------------------------------------
# indent.stp, stopwatch.stp
# --------------------------------------------------------------------------------------


def test_thread_indent(state: TapsetState, monkeypatch: pytest.MonkeyPatch) -> None:
    us = iter([1000, 1010, 1025, 1030, 5000])
    monkeypatch.setattr(tapset, "gettimeofday_us", lambda: next(us))
    who = b"%s(%d)" % (tapset.execname(), tapset.tid())
    assert tapset.thread_indent(state, 1) == b"     0 " + who + b":"
    assert tapset.thread_indent(state, 1) == b"    10 " + who + b": "
    assert tapset.thread_indent(state, -1) == b"    25 " + who + b": "
    assert tapset.thread_indent(state, -1) == b"    30 " + who + b":"
    assert tapset.thread_indent(state, 1) == b"     0 " + who + b":"  # back at 0: new origin


def test_indent(state: TapsetState, monkeypatch: pytest.MonkeyPatch) -> None:
    us = iter([7, 9, 1234567])
    monkeypatch.setattr(tapset, "gettimeofday_us", lambda: next(us))
    assert tapset.indent(state, 2) == b"     0 : "
    assert tapset.indent(state, 0) == b"     2 : "
    assert tapset.indent(state, 0) == b"1234560 : "


def test_indent_depth(state: TapsetState) -> None:
    assert [tapset.indent_depth(state, d) for d in (1, 1, -1, -1, -1, 1, 1)] == [
        0,
        1,
        1,
        0,
        0,
        0,  # the counter went to -1: the next +1 brings it back to 0
        0,
    ]
    assert tapset.thread_indent_depth(state, 3) == 2
    assert tapset.thread_indent_depth(state, 0) == 2
    assert tapset.thread_indent_depth(state, -3) == 2
    assert tapset.thread_indent_depth(state, 0) == 0


def test_indent_deep(state: TapsetState) -> None:
    out = tapset.indent(state, 10**12)
    assert len(out) >= 511  # the caller truncates to MAXSTRINGLEN - 1
    assert out.endswith(b" " * 400)


def test_stopwatch(state: TapsetState, clock: list[int]) -> None:
    clock[0] = 1000
    tapset.start_stopwatch(state, b"a")
    clock[0] = 1500
    assert tapset.read_stopwatch_ns(state, b"a") == 500
    clock[0] = 2000
    tapset.stop_stopwatch(state, b"a")
    clock[0] = 5000
    assert tapset.read_stopwatch_ns(state, b"a") == 1000  # stopped
    clock[0] = 6000
    tapset.start_stopwatch(state, b"a")
    clock[0] = 7000
    tapset.start_stopwatch(state, b"a")  # already running: no restart
    clock[0] = 8000
    assert tapset.read_stopwatch_ns(state, b"a") == 3000
    tapset.delete_stopwatch(state, b"a")
    assert tapset.read_stopwatch_ns(state, b"a") == 0


def test_stopwatch_units(state: TapsetState, clock: list[int]) -> None:
    clock[0] = 10**9
    tapset.start_stopwatch(state, b"t")
    clock[0] += 1_234_567_891
    assert tapset.read_stopwatch_us(state, b"t") == 1_234_567
    assert tapset.read_stopwatch_ms(state, b"t") == 1_234
    assert tapset.read_stopwatch_s(state, b"t") == 1


def test_stopwatch_unknown(state: TapsetState, clock: list[int]) -> None:
    clock[0] = 99
    assert tapset.read_stopwatch_ns(state, b"nope") == 0
    tapset.stop_stopwatch(state, b"nope")
    assert tapset.read_stopwatch_ns(state, b"nope") == 0
    tapset.delete_stopwatch(state, b"never")


# --------------------------------------------------------------------------------------
# The signature table
# --------------------------------------------------------------------------------------

HANDLED_BY_THE_TRANSLATOR = [
    "print",
    "println",
    "printf",
    "sprintf",
    "sprint",
    "exit",
    "error",
    "target",
    "@count",
    "@sum",
]


def test_table_shape() -> None:
    for name, sig in tapset.FUNCTIONS.items():
        assert sig.name == name
        assert sig.returns in ("long", "string", "void")
        assert all(a in ("long", "string") for a in sig.args)
    for name, sigs in tapset.OVERLOADS.items():
        assert tapset.FUNCTIONS[name] is sigs[0]
        assert len({len(s.args) for s in sigs}) == len(sigs)  # one variant per arity
    for name in HANDLED_BY_THE_TRANSLATOR:
        assert name not in tapset.FUNCTIONS


@pytest.mark.parametrize(
    "sig", [s for sigs in tapset.OVERLOADS.values() for s in sigs], ids=lambda s: s.name
)
def test_signature_matches_impl(sig: tapset.Signature) -> None:
    params = [
        p
        for p in inspect.signature(sig.impl).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    assert len(params) == len(sig.args) + (1 if sig.needs_state else 0)
    if sig.needs_state:
        assert params[0].name == "state"


@pytest.mark.parametrize(
    "sig", [s for sigs in tapset.OVERLOADS.values() for s in sigs], ids=lambda s: s.name
)
def test_signature_result_types(sig: tapset.Signature, state: TapsetState) -> None:
    args: list[object] = [b"a" if a == "string" else 0 for a in sig.args]
    if sig.needs_state:
        args.insert(0, state)
    try:
        result = sig.impl(*args)
    except ScriptError:
        return
    if sig.returns == "long":
        assert isinstance(result, int)
        assert INT64_MIN <= result <= INT64_MAX
    elif sig.returns == "string":
        assert isinstance(result, bytes)
    else:
        assert result is None


def test_lookup() -> None:
    tok2 = tapset.lookup("tokenize", 2)
    tok1 = tapset.lookup("tokenize", 1)
    assert tok2 is not None and tok2.impl is tapset.tokenize
    assert tok1 is not None and tok1.impl is tapset.tokenize1
    assert tok1.args == ("string",) and tok1.needs_state
    ctime1 = tapset.lookup("ctime", 1)
    ctime0 = tapset.lookup("ctime", 0)
    assert ctime1 is not None and ctime1.impl is tapset.ctime
    assert ctime0 is not None and ctime0.impl is tapset.ctime0
    assert tapset.FUNCTIONS["ctime"] is ctime1
    assert tapset.lookup("strlen", 2) is None
    assert tapset.lookup("no_such_function", 0) is None
    substr = tapset.lookup("substr", 3)
    assert substr is not None
    assert (substr.returns, substr.args) == ("string", ("string", "long", "long"))
    assert tapset.FUNCTIONS["start_stopwatch"].returns == "void"


def test_signature_is_frozen() -> None:
    sig = tapset.FUNCTIONS["strlen"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sig.name = "other"  # type: ignore[misc]


def test_calendar_sanity() -> None:
    # the constants used above
    assert calendar.timegm((1993, 6, 30, 21, 49, 8, 0, 0, 0)) == 741476948

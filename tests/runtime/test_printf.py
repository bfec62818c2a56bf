"""printf/sprintf formatting, against SystemTap 4.8's runtime (runtime/vsprintf.c).

The expected bytes are worked out from the C code stap compiles a format into
(translate.cxx ``emit_compiled_printfs``: ``number()``, ``_stp_vsprint_char``,
``_stp_vsprint_memory``, ``_stp_vsprint_binary`` on an 8192-byte print reservation or a
512-byte string buffer), not from glibc: where the two differ the case says so.
"""

from __future__ import annotations

import timeit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stapserver.runtime.base import INT64_MAX, INT64_MIN
from stapserver.runtime.printf import (
    MAXSTRINGLEN,
    STP_BUFFER_SIZE,
    WRONG_NUMBER_OF_ARGS,
    Format,
    FormatError,
    format_long,
    parse_format,
    too_many_arguments_message,
    type_mismatch_message,
)

U64 = (1 << 64) - 1
longs = st.integers(min_value=INT64_MIN, max_value=INT64_MAX)
NUL = b"\0"


def printf(fmt: bytes, *args: int | bytes) -> bytes:
    return parse_format(fmt).render(args)


def sprintf(fmt: bytes, *args: int | bytes) -> bytes:
    return parse_format(fmt).render_string(args)


# ---------------------------------------------------------------------------
# Parsing (print_format::string_to_components): stap reports these as parse errors.

PARSE_ERRORS = [
    # A conversion character stap does not know.
    (b"%q", "invalid or missing conversion specifier"),
    (b"%n", "invalid or missing conversion specifier"),
    (b"%e", "invalid or missing conversion specifier"),
    (b"%hd", "invalid or missing conversion specifier"),  # only 'l' is a modifier
    (b"%lld", "invalid or missing conversion specifier"),  # ... and only one of them
    (b"%ll", "invalid or missing conversion specifier"),
    (b"%1$d", "invalid or missing conversion specifier"),
    (b"%5%", "invalid or missing conversion specifier"),
    (b"%.q", "invalid or missing conversion specifier"),
    (b"%.\n", "invalid or missing conversion specifier"),
    # Only one flag is parsed: a second one is taken for the conversion character.
    (b"%+-5d", "invalid or missing conversion specifier"),
    (b"%-+5d", "invalid or missing conversion specifier"),
    (b"%#-5x", "invalid or missing conversion specifier"),
    (b"%0-5d", "invalid or missing conversion specifier"),
    (b"%#-5c", "invalid or missing conversion specifier"),
    (b"%--5d", "invalid or missing conversion specifier"),
    # A lone '%' at the end (stap 4.8 reads past the string and reports this).
    (b"%", "invalid or missing conversion specifier"),
    (b"abc%", "invalid or missing conversion specifier"),
    (b"%%%", "invalid or missing conversion specifier"),
    (b"%d%", "invalid or missing conversion specifier"),
    # A conversion cut short by the end of the string.
    (b"%-", "trailing incomplete print format conversion"),
    (b"%0", "trailing incomplete print format conversion"),
    (b"%#", "trailing incomplete print format conversion"),
    (b"%5", "trailing incomplete print format conversion"),
    (b"%*", "trailing incomplete print format conversion"),
    (b"%.5", "trailing incomplete print format conversion"),
    (b"%.*", "trailing incomplete print format conversion"),
    (b"%5.", "trailing incomplete print format conversion"),
    (b"%5l", "trailing incomplete print format conversion"),
    (b"%-l", "trailing incomplete print format conversion"),
    (b"%.*l", "trailing incomplete print format conversion"),
    (b"x %10", "trailing incomplete print format conversion"),
]


@pytest.mark.parametrize(("fmt", "message"), PARSE_ERRORS)
def test_parse_errors(fmt: bytes, message: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_format(fmt)
    assert info.value.message == message
    assert str(info.value) == message


@pytest.mark.parametrize("fmt", [b"%m", b"%M", b"%.4m", b"%*M", b"x %lm y"])
def test_memory_dumps_are_not_supported(fmt: bytes) -> None:
    with pytest.raises(FormatError) as info:
        parse_format(fmt)
    assert "not supported by the python runtime" in info.value.message
    assert "memory dump" in info.value.message


def test_memory_dump_message_comes_after_syntax_errors() -> None:
    with pytest.raises(FormatError, match="invalid or missing conversion specifier"):
        parse_format(b"%m %q")


ARG_TYPES = [
    (b"", ()),
    (b"hello\n", ()),
    (b"100%%\n", ()),
    (b"%d %s\n", ("long", "string")),
    (b"%i%u%o%x%X%p%c%b", ("long",) * 8),
    (b"%s%5s%-.3s", ("string",) * 3),
    (b"%*d", ("long", "long")),
    (b"%.*s", ("long", "string")),
    (b"%-*.*s|%0*x", ("long", "long", "string", "long", "long")),
    (b"%*c %.*b", ("long",) * 4),
    (b"%ld %li %lu %lx %ls %lc %lb %lp", ("long",) * 4 + ("string",) + ("long",) * 3),
    # stap drops what it cannot finish at the very end: a bare "%.", "%l" or "%.l".
    (b"x%.", ()),
    (b"x%l", ()),
    (b"x%.l", ()),
    # A '.' without digits or '*' is no precision at all.
    (b"%.d %.s", ("long", "string")),
    (b"%.ld", ("long",)),
]


@pytest.mark.parametrize(("fmt", "types"), ARG_TYPES)
def test_arg_types(fmt: bytes, types: tuple[str, ...]) -> None:
    assert parse_format(fmt).arg_types == types


def test_parse_format_is_cached_and_reconstructible() -> None:
    first = parse_format(b"%d %s\n")
    assert parse_format(b"%d %s\n") is first
    assert isinstance(first, Format)
    assert first.fmt == b"%d %s\n"
    assert repr(first) == "parse_format(b'%d %s\\n')"
    again = Format(b"%d %s\n")
    assert again.render((1, b"x")) == first.render((1, b"x")) == b"1 x\n"


def test_messages() -> None:
    assert WRONG_NUMBER_OF_ARGS == "Wrong number of args to formatted print operator"
    assert type_mismatch_message("long", "string") == (
        "type mismatch: expected long but found string"
    )
    assert too_many_arguments_message(33) == "too many arguments to print (33)"


def test_format_long() -> None:
    assert format_long(0) == b"0"
    assert format_long(-42) == b"-42"
    assert format_long(INT64_MIN) == b"-9223372036854775808"
    assert format_long(INT64_MAX) == b"9223372036854775807"


# ---------------------------------------------------------------------------
# Rendering.  Each row: format, arguments, printf bytes, sprintf bytes (None: the same).

Row = tuple[bytes, tuple[int | bytes, ...], bytes, bytes | None]

INTEGERS: list[Row] = [
    (b"%d", (0,), b"0", None),
    (b"%d", (-1,), b"-1", None),
    (b"%i", (42,), b"42", None),
    (b"%d", (INT64_MAX,), b"9223372036854775807", None),
    (b"%d", (INT64_MIN,), b"-9223372036854775808", None),
    (b"%ld|%li", (7, -7), b"7|-7", None),
    (b"[%5d]", (42,), b"[   42]", None),
    (b"[%-5d]", (42,), b"[42   ]", None),
    (b"[%05d]", (-42,), b"[-0042]", None),
    (b"[%+d|%+d]", (5, -5), b"[+5|-5]", None),
    (b"[% d|% d]", (5, -5), b"[ 5|-5]", None),
    (b"[%#d]", (5,), b"[5]", None),  # '#' means nothing in base 10
    (b"[%.3d]", (-7,), b"[-007]", None),
    (b"[%6.3d]", (7,), b"[   007]", None),
    (b"[%-6.3d]", (-7,), b"[-007  ]", None),
    # The '0' flag still pads with zeros when a precision is given (glibc: "  007").
    (b"[%05.3d]", (7,), b"[00007]", None),
    # A zero precision still prints the digit 0 (glibc prints nothing).
    (b"[%.0d]", (0,), b"[0]", None),
    (b"[%.d]", (0,), b"[0]", None),
    # Only one flag: the 0 after '-' is the start of the width.
    (b"[%-05d]", (3,), b"[3    ]", None),
    (b"[%+05d]", (3,), b"[   +3]", None),
    (b"[%00d]", (3,), b"[3]", None),
    # Unsigned views are 64 bits wide.
    (b"%u", (-1,), b"18446744073709551615", None),
    (b"%u", (INT64_MIN,), b"9223372036854775808", None),
    (b"[%+u|% u]", (5, 5), b"[5|5]", None),  # no sign for unsigned conversions
    (b"%o", (8,), b"10", None),
    (b"%o", (-1,), b"1777777777777777777777", None),
    (b"[%#o|%#o]", (8, 0), b"[010|00]", None),  # glibc: "010|0"
    (b"[%#5o]", (8,), b"[  010]", None),
    (b"%x|%X", (255, 255), b"ff|FF", None),
    (b"%x", (-1,), b"ffffffffffffffff", None),
    (b"%X", (INT64_MIN,), b"8000000000000000", None),
    (b"[%#x|%#X|%#x]", (255, 255, 0), b"[0xff|0XFF|0x0]", None),  # glibc: %#x of 0 is "0"
    (b"[%#8x]", (31,), b"[    0x1f]", None),
    (b"[%#08x]", (31,), b"[    0x1f]", None),  # '#' then width "08": no zero padding
    (b"[%08x]", (31,), b"[0000001f]", None),
    (b"[%#.4x]", (31,), b"[0x001f]", None),
    (b"[%-8x]", (31,), b"[1f      ]", None),
    (b"[%+x|% x]", (31, 31), b"[1f|1f]", None),
    (b"%lx|%lu|%lo", (16, 16, 16), b"10|16|20", None),
]

POINTERS: list[Row] = [
    # %p is %#x on the full 64 bits (stap >= 1.3).
    (b"%p", (0,), b"0x0", None),
    (b"%p", (-0x7F000000,), b"0xffffffff81000000", None),
    (b"%p", (-1,), b"0xffffffffffffffff", None),
    (b"%p", (0x1234,), b"0x1234", None),
    (b"[%20p]", (0x1234,), b"[              0x1234]", None),
    (b"[%-20p]", (0x1234,), b"[0x1234              ]", None),
    (b"[%020p]", (0x1234,), b"[0x000000000000001234]", None),
    (b"[%.8p]", (0xFF,), b"[0x000000ff]", None),
    (b"[%+p|% p|%#p]", (1, 1, 1), b"[0x1|0x1|0x1]", None),
    (b"%lp", (16,), b"0x10", None),
]

CHARACTERS: list[Row] = [
    (b"%c", (65,), b"A", None),
    (b"%c", (0x141,), b"A", None),  # the low 8 bits
    (b"%c", (-1,), b"\xff", None),
    (b"a%cb", (0,), b"a\0b", b"a"),  # sprintf's result is a C string
    (b"[%5c]", (65,), b"[    A]", None),
    (b"[%-5c]", (65,), b"[A    ]", None),
    (b"[%05c]", (65,), b"[    A]", None),  # no zero padding for %c
    (b"[%.3c]", (65,), b"[A]", None),  # the precision is ignored
    # '#' escapes what is not printable ASCII, and quote and backslash.
    (b"%#c", (ord("A"),), b"A", None),
    (b"%#c", (ord('"'),), b'"', None),
    (b"%#c%#c%#c%#c", (10, 9, 13, 0), b"\\n\\t\\r\\000", None),
    (b"%#c%#c%#c%#c%#c", (7, 8, 12, 11, 27), b"\\a\\b\\f\\v\\033", None),
    (b"%#c%#c", (39, 92), b"\\'\\\\", None),
    (b"%#c%#c%#c%#c", (127, 128, 0xE9, 255), b"\\177\\200\\351\\377", None),
    (b"[%#5c]", (10,), b"[   \\n]", None),
    (b"[%-5c]", (1,), b"[\x01    ]", None),
]

STRINGS: list[Row] = [
    (b"%s", (b"",), b"", None),
    (b"[%s]", (b"hello",), b"[hello]", None),
    (b"[%8s]", (b"hello",), b"[   hello]", None),
    (b"[%-8s]", (b"hello",), b"[hello   ]", None),
    (b"[%.2s]", (b"hello",), b"[he]", None),
    (b"[%5.1s]", (b"hello",), b"[    h]", None),
    (b"[%-5.1s]", (b"hello",), b"[h    ]", None),
    (b"[%.0s]", (b"hello",), b"[]", None),
    (b"[%.s]", (b"hello",), b"[hello]", None),  # stap drops a '.' without digits
    (b"[%.9s]", (b"hello",), b"[hello]", None),
    (b"[%+s|% s|%#s]", (b"a", b"b", b"c"), b"[a|b|c]", None),
    (b"[%ls]", (b"x",), b"[x]", None),
    # '0' pads with spaces and then writes a NUL byte.
    (b"[%05s]", (b"ab",), b"[   ab\0]", b"[   ab"),
    (b"[%0s]", (b"ab",), b"[ab\0]", b"[ab"),
    # Strings are C strings: they end at a NUL byte.
    (b"[%s]", (b"a\0b",), b"[a]", None),
    (b"[%5s]", (b"a\0b",), b"[    a]", None),
    (b"%s%c", (b"a\0b", 66), b"aB", None),
    (b"\xff\x80%s", (b"\x01\xfe",), b"\xff\x80\x01\xfe", None),
]

LITERALS: list[Row] = [
    (b"hello\n", (), b"hello\n", None),
    (b"100%%\n", (), b"100%\n", None),
    (b"%%d %d%%", (5,), b"%d 5%", None),
    (b"x%.", (), b"x", None),
    (b"x%l", (), b"x", None),
    (b"", (), b"", None),
    # A NUL in a literal: the C copy stops there; printf's reservation still counts the
    # whole literal, and the unwritten tail of a fresh print buffer is zeros.
    (b"a\0b%d", (1,), b"a1\0\0", b"a1"),
    (b"a\0b", (), b"a", None),  # no conversion: stap uses _stp_print(), which stops at NUL
]

BINARY: list[Row] = [
    # Default: 8 bytes, little-endian.
    (b"%b", (0x0102030405060708,), bytes.fromhex("0807060504030201"), None),
    (b"%b", (0x41,), b"A" + NUL * 7, b"A"),
    (b"%b", (-2,), b"\xfe" + b"\xff" * 7, None),
    (b"%lb", (0x41,), b"A" + NUL * 7, b"A"),
    # The width picks the size when it is 1, 2, 4 or 8.
    (b"%1b", (0x4142,), b"B", None),
    (b"%2b", (0x4142,), b"BA", None),
    (b"%4b", (0x41424344,), b"DCBA", None),
    (b"%8b", (0x41,), b"A" + NUL * 7, b"A"),
    (b"%2b", (-2,), b"\xfe\xff", None),
    # Other widths pad with NULs around 8 bytes.
    (b"%3b", (0x41,), b"A" + NUL * 7, b"A"),
    (b"%10b", (0x41,), NUL * 2 + b"A" + NUL * 7, b""),
    (b"%-10b", (0x41,), b"A" + NUL * 9, b"A"),
    # The precision picks the size when it is 1, 2, 4 or 8 (and is then the width).
    (b"%.2b", (0x4142,), b"BA", None),
    (b"%.3b", (0x41,), b"A" + NUL * 7, b"A"),
    (b"%4.2b", (0x4142,), NUL * 2 + b"BA", b""),
    (b"%-4.2b", (0x4142,), b"BA" + NUL * 2, b"BA"),
    (b"%1.2b", (0x4142,), b"BA", None),
    (b"%#b|%0b", (0x41, 0x41), b"A" + NUL * 7 + b"|" + b"A" + NUL * 7, b"A"),
    (b"x%1by", (0x2A,), b"x*y", None),
]

DYNAMIC: list[Row] = [
    (b"[%*d]", (5, 1), b"[    1]", None),
    # A negative '*' width is clamped to 0, not read as '-' (glibc: left-justify).
    (b"[%*d]", (-5, 1), b"[1]", None),
    (b"[%-*d]", (5, 1), b"[1    ]", None),
    (b"[%0*d]", (5, -1), b"[-0001]", None),
    # The argument is cast to int: only its low 32 bits count.
    (b"[%*d]", ((1 << 32) + 3, 1), b"[  1]", None),
    (b"[%*d]", (1 << 31, 1), b"[1]", None),
    (b"[%.*d]", (3, 7), b"[007]", None),
    (b"[%.*d]", (-3, 7), b"[7]", None),
    (b"[%*.*x]", (6, 4, 255), b"[  00ff]", None),
    (b"[%*s]", (4, b"ab"), b"[  ab]", None),
    (b"[%.*s]", (1, b"ab"), b"[a]", None),
    # A negative precision is clamped to 0: nothing of the string (glibc: all of it).
    (b"[%.*s]", (-1, b"ab"), b"[]", None),
    (b"[%*c]", (3, 65), b"[  A]", None),
    (b"[%.*c]", (3, 65), b"[A]", None),
    (b"[%#*c]", (3, 10), b"[ \\n]", None),
    (b"[%*b]", (2, 0x4142), b"[BA]", None),
    (b"[%.*b]", (4, 0x41), b"[A\0\0\0]", b"[A"),
    (b"[%.*b]", (0, 0x41), b"[A" + NUL * 7 + b"]", b"[A"),
    (b"[%*.*b]", (4, 2, 0x4142), b"[\0\0BA]", b"["),
    (b"[%#*o]", (5, 8), b"[  010]", None),
    # Static widths and precisions are unsigned ints in stap: they wrap at 2**32.
    (b"[%4294967301d]", (1,), b"[    1]", None),
    (b"[%.4294967298d]", (1,), b"[01]", None),
]


@pytest.mark.parametrize(
    ("fmt", "args", "stream", "string"),
    INTEGERS + POINTERS + CHARACTERS + STRINGS + LITERALS + BINARY + DYNAMIC,
)
def test_render(
    fmt: bytes, args: tuple[int | bytes, ...], stream: bytes, string: bytes | None
) -> None:
    compiled = parse_format(fmt)
    assert compiled.render(args) == stream
    assert compiled.render(list(args)) == stream
    assert compiled.render_string(args) == (stream if string is None else string)


# ---------------------------------------------------------------------------
# The buffer bounds: 8192 bytes per printf, 511 (+ NUL) per sprintf.

BIG = b"x" * 9000


def test_printf_is_limited_to_the_print_buffer() -> None:
    # The width is clamped to 8192, then to the room left.
    assert printf(b"%9000d", 1) == b" " * 8191 + b"1"
    assert printf(b"ab%9000d", 1) == b"ab" + b" " * 8189 + b"1"
    assert printf(b"%9000d|", 1) == b" " * 8191 + b"1"
    assert printf(b"%-9000d|", 1) == b"1" + b" " * 8191
    assert printf(b"%8191d|", 1) == b" " * 8190 + b"1|"
    assert printf(b"%8192d|", 1) == b" " * 8191 + b"1"
    assert printf(b"%s\n", BIG) == b"x" * 8192
    assert printf(b"%s|%s", b"a", BIG) == b"a|" + b"x" * 8190
    assert printf(b"%5000s%5000s", b"a", b"b") == b" " * 4999 + b"a" + b" " * 3191 + b"b"
    assert printf(b"%.9000s|", b"ab") == b"ab|"
    assert printf(b"%8190s%d", b"", 12345) == b" " * 8190 + b"12"
    assert printf(b"%8190s%c%c%c", b"", 65, 66, 67) == b" " * 8190 + b"AB"
    assert printf(b"%8190s%#c", b"", 10) == b" " * 8190 + b"\\n"
    assert printf(b"%8190s%#c", b"", 0) == b" " * 8190 + b"\\0"
    # %b writes its value only if all of it fits; the rest of the reservation stays as the
    # (fresh, zeroed) buffer had it.
    assert printf(b"%8190s%b", b"", 0x4142) == b" " * 8190 + NUL * 2
    # ... and a width clamped to the room left can pick a smaller size.
    assert printf(b"%8190s%-4b", b"", 0x4142) == b" " * 8190 + b"BA"
    # Nothing to print: no reservation at all.
    assert printf(b"%s%s", b"", b"") == b""


def test_printf_bypasses_the_buffer_for_plain_strings() -> None:
    # stap prints these with _stp_print(): no 8192-byte ceiling.
    assert printf(b"%s", BIG) == BIG
    long_literal = b"y" * 10000
    assert printf(long_literal) == long_literal
    assert printf(b"%s", b"a\0b") == b"a"
    # ... but a literal with "%%" goes through the compiled printf.
    assert printf(long_literal + b"%%") == long_literal[:8192]


def test_sprintf_is_limited_to_a_string() -> None:
    assert len(sprintf(b"%s", BIG)) == MAXSTRINGLEN - 1
    assert sprintf(b"%s", BIG) == b"x" * 511
    assert sprintf(b"%s%s", b"ab", BIG) == b"ab" + b"x" * 509
    assert sprintf(b"%511d", 1) == b" " * 510 + b"1"
    # Width 512 fills the buffer; the terminating NUL then overwrites the last byte.
    assert sprintf(b"%512d", 1) == b" " * 511
    assert sprintf(b"%600d", 1) == b" " * 511
    assert sprintf(b"%-600d", 1) == b"1" + b" " * 510
    assert sprintf(b"%*d", 600, 42) == b" " * 510 + b"4"
    assert sprintf(b"%-*d|", 600, 42) == b"42" + b" " * 509
    assert sprintf(b"%509s%d", b"", 12345) == b" " * 509 + b"12"
    assert sprintf(b"%.600s", b"ab") == b"ab"
    assert sprintf(b"x" * 600) == b"x" * 511
    assert sprintf(b"x" * 600 + b"%%") == b"x" * 511


def test_binary_precision_is_clamped_to_the_room_left() -> None:
    # printf reserves 4 + 4 bytes, then "%4.100b" sees a precision of min(100, 8) = 8, a
    # valid size: its 8 bytes fill the reservation and "%4b" no longer fits.
    assert printf(b"%4.100b%4b", 1, 2) == b"\x01" + NUL * 7
    assert printf(b"%4.100b", 1) == b"\x01\0\0\0"
    assert sprintf(b"%507s%4.100b", b"", 0x41) == b" " * 507 + b"A"


# ---------------------------------------------------------------------------
# Properties.


@given(longs)
def test_d_is_decimal(value: int) -> None:
    assert printf(b"%d", value) == str(value).encode()
    assert printf(b"%i", value) == sprintf(b"%d", value) == format_long(value)


@given(longs)
def test_unsigned_views(value: int) -> None:
    unsigned = value & U64
    assert printf(b"%u", value) == str(unsigned).encode()
    assert printf(b"%x", value) == format(unsigned, "x").encode()
    assert printf(b"%X", value) == format(unsigned, "X").encode()
    assert printf(b"%o", value) == format(unsigned, "o").encode()
    assert printf(b"%p", value) == b"0x" + format(unsigned, "x").encode()
    assert printf(b"%#x", value) == b"0x" + format(unsigned, "x").encode()
    assert printf(b"%#o", value) == b"0" + format(unsigned, "o").encode()


@given(longs, st.integers(min_value=0, max_value=40))
def test_width_pads_to_at_least_width(value: int, width: int) -> None:
    text = str(value).encode()
    assert printf(b"%*d", width, value) == text.rjust(width)
    assert printf(b"%-*d", width, value) == text.ljust(width)
    assert printf(b"%0*d", width, value) == str(value).zfill(width).encode()


@given(longs, st.sampled_from([1, 2, 4, 8]))
def test_binary_round_trips(value: int, size: int) -> None:
    out = parse_format(b"%*b").render((size, value))
    assert len(out) == size
    assert int.from_bytes(out, "little") == value & ((1 << (8 * size)) - 1)
    assert int.from_bytes(printf(b"%b", value), "little", signed=True) == value


@given(longs)
def test_c_is_the_low_byte(value: int) -> None:
    assert printf(b"%c", value) == bytes((value & 0xFF,))


@given(st.binary(max_size=600), st.integers(min_value=-3, max_value=700))
def test_string_precision(value: bytes, precision: int) -> None:
    cstring = value.split(b"\0", 1)[0]
    expected = cstring[: max(precision, 0)]
    assert printf(b"%.*s|", precision, value) == expected + b"|"
    assert sprintf(b"%.*s", precision, value) == expected[:511]


@given(st.binary(max_size=9000))
def test_sprintf_is_the_printf_c_string_cut_to_511(value: bytes) -> None:
    assert sprintf(b"%s", value) == printf(b"%s", value)[:511]
    assert len(sprintf(b"[%s]", value)) <= 511


FLAGS = st.sampled_from([b"", b"", b"0", b"+", b"-", b" ", b"#"])
WIDTHS = st.one_of(
    st.just(b""),
    st.just(b"*"),
    st.sampled_from([0, 1, 2, 3, 4, 7, 8, 20, 100, 511, 512, 600, 8192, 9000]).map(
        lambda n: str(n).encode()
    ),
)
PRECISIONS = st.one_of(
    st.just(b""),
    st.just(b"."),
    st.just(b".*"),
    st.sampled_from([0, 1, 2, 3, 4, 8, 16, 600, 9000]).map(lambda n: b".%d" % n),
)
CONVERSIONS = st.sampled_from(list(b"bcsdiuoxXp"))
DYNAMIC_VALUES = st.sampled_from([-5, -1, 0, 1, 2, 3, 4, 8, 9, 100, 512, 8192, 9000, 2**32 + 4])


Case = tuple[Format, tuple[int | bytes, ...]]


@st.composite
def formats_and_args(draw: st.DrawFn) -> Case:
    parts = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from([b"|", b"ab", b"%%", b"\n", b"z" * 300])))
        parts.append(
            b"%"
            + draw(FLAGS)
            + draw(WIDTHS)
            + draw(PRECISIONS)
            + draw(st.sampled_from([b"", b"l"]))
            + bytes((draw(CONVERSIONS),))
        )
    compiled = parse_format(b"".join(parts))
    args: list[int | bytes] = []
    for kind in compiled.arg_types:
        if kind == "string":
            args.append(draw(st.sampled_from([b"", b"hello", b"a\0b", b"q" * 600])))
        else:
            args.append(draw(st.one_of(longs, DYNAMIC_VALUES)))
    return compiled, tuple(args)


@settings(max_examples=400)
@given(formats_and_args())
def test_fast_path_agrees_with_the_c_emulation(case: Case) -> None:
    # render()/render_string() use a generated Python %-format where it matches the C
    # code; _stream()/_string() follow the C code step by step.
    compiled, args = case
    assert compiled.render(args) == compiled._stream(args)
    assert compiled.render_string(args) == compiled._string(args)
    assert len(compiled.render(args)) <= STP_BUFFER_SIZE
    assert len(compiled.render_string(args)) < MAXSTRINGLEN


def test_render_is_fast() -> None:
    compiled = parse_format(b"%d %s\n")
    args = (123456, b"some string")
    assert compiled.render(args) == b"123456 some string\n"
    number = 20000
    best = min(timeit.repeat(lambda: compiled.render(args), number=number, repeat=5))
    assert best / number < 2e-6

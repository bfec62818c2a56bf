"""SystemTap's ``printf``/``sprintf`` formatting, byte-exact with the stap 4.8 runtime.

stap parses a format string once, at translate time (``print_format::string_to_components``),
and compiles each distinct format into a C function that calls the runtime's formatters
(``number()``, ``_stp_vsprint_char``, ``_stp_vsprint_memory``, ``_stp_vsprint_binary`` in
``runtime/vsprintf.c``) on a bounded buffer.  This module does the same in Python:

* :func:`parse_format` splits the format into literals and conversions, with stap's parser
  rules (a single optional flag, optional width, optional precision, an optional ``l``
  modifier, then one of ``bcsmMdiuoxXp``) and its error messages.
* ``Format.render(args)`` is ``printf``: the output of one call, at most
  ``STP_BUFFER_SIZE`` (8192) bytes, NUL bytes included (``%c`` of 0, ``%b``, ``%0s``),
  except for the two shapes stap hands to ``_stp_print()`` unformatted (no arguments and
  no ``%%``; exactly ``"%s"``), which have no size limit.
* ``Format.render_string(args)`` is ``sprintf``: a C string of at most
  ``MAXSTRINGLEN - 1`` (511) bytes, cut at its first NUL byte.

Each format gets a fast path, a Python ``bytes %`` expression generated at parse time for
the conversions whose semantics Python shares exactly, checked afterwards for the rare
cases where stap's buffer bounds matter; those go through a slow path that mirrors the C
code step by step (width and precision clamped to the space left, output cut at the end of
the buffer).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # every generated module imports this one: no more than itself at run time
    from collections.abc import Callable, Sequence
    from typing import Any, Final

__all__ = [
    "MAXSTRINGLEN",
    "STP_BUFFER_SIZE",
    "TOO_MANY_ARGS_LIMIT",
    "WRONG_NUMBER_OF_ARGS",
    "Format",
    "FormatError",
    "format_long",
    "parse_format",
    "too_many_arguments_message",
    "type_mismatch_message",
]

STP_BUFFER_SIZE: Final = 8192
"""Per-call ceiling of a ``printf`` (runtime/transport/transport.h)."""

MAXSTRINGLEN: Final = 512
"""Size of a string buffer on 64-bit, terminating NUL included (runtime_defines.h)."""

TOO_MANY_ARGS_LIMIT: Final = 32
"""A print with more arguments than this is rejected (translate.cxx, PR10750)."""

WRONG_NUMBER_OF_ARGS: Final = "Wrong number of args to formatted print operator"
"""stap's pass-2 message when the argument count differs from ``len(Format.arg_types)``."""

_INVALID: Final = "invalid or missing conversion specifier"
_TRAILING: Final = "trailing incomplete print format conversion"

# print_flag in runtime/vsprintf.h (print_format::format_flag in staptree.h).
_ZEROPAD: Final = 1
_SIGN: Final = 2
_PLUS: Final = 4
_SPACE: Final = 8
_LEFT: Final = 16
_SPECIAL: Final = 32
_LARGE: Final = 64

_U64: Final = (1 << 64) - 1
_U32: Final = (1 << 32) - 1
_I32_SIGN: Final = 1 << 31

_FLAG_CHARS: Final = {
    ord("0"): _ZEROPAD,
    ord("+"): _PLUS,
    ord("-"): _LEFT,
    ord(" "): _SPACE,
    ord("#"): _SPECIAL,
}

# conversion character -> (kind, base, implied flags, argument type)
_CONVERSIONS: Final = {
    ord("b"): ("b", 0, 0, "long"),
    ord("c"): ("c", 0, 0, "long"),
    ord("s"): ("s", 0, 0, "string"),
    ord("m"): ("m", 0, 0, "long"),
    ord("M"): ("M", 0, 0, "long"),
    ord("d"): ("n", 10, _SIGN, "long"),
    ord("i"): ("n", 10, _SIGN, "long"),
    ord("u"): ("n", 10, 0, "long"),
    ord("o"): ("n", 8, 0, "long"),
    ord("X"): ("n", 16, _LARGE, "long"),
    ord("x"): ("n", 16, 0, "long"),
    ord("p"): ("n", 16, _SPECIAL, "long"),  # since stap 1.3, %p == %#x
}

_NONE: Final = 0  # width/precision not given
_STATIC: Final = 1  # given as digits
_DYNAMIC: Final = 2  # given as '*': taken from the next argument


class FormatError(Exception):
    """A format string stap rejects; ``message`` is stap's text.

    stap reports these while parsing (``parse error: <message>``); the python runtime also
    rejects the ``%m``/``%M`` memory dumps, which read kernel memory.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def format_long(value: int) -> bytes:
    """A long as ``print``/``println`` write it (stap uses ``%d``)."""
    return b"%d" % value


def type_mismatch_message(expected: str, found: str) -> str:
    """stap's pass-2 message for an argument of the wrong type, e.g. ``%d`` given a string.

    stap appends the offending argument's token: ``type mismatch: expected long but found
    string: string 'a' at <input>:1:30``.
    """
    return f"type mismatch: expected {expected} but found {found}"


def too_many_arguments_message(count: int) -> str:
    """stap's message for a print with more than :data:`TOO_MANY_ARGS_LIMIT` arguments."""
    return f"too many arguments to print ({count})"


# ---------------------------------------------------------------------------
# The runtime's formatters, one for one.  Each returns the bytes the C function writes
# when it has all the room it wants; callers cut them to the buffer.


def _int32(value: int) -> int:
    """``(int) value``: the low 32 bits, signed."""
    value &= _U32
    return value - (1 << 32) if value & _I32_SIGN else value


def _clamp(value: int, high: int) -> int:
    """``clamp_t(int, value, 0, high)`` as the compiled printf uses it.

    ``high`` is the room left in the buffer, negative once number() has run past its end.
    """
    value = _int32(value)
    if value < 0:
        value = 0
    return value if value < high else high


def _number(num: int, base: int, size: int, precision: int, flags: int) -> bytes:
    """``number()``: an integer in ``base``; ``size`` is the field width (-1: none)."""
    num &= _U64
    if flags & _LEFT:
        flags &= ~_ZEROPAD
    sign = b""
    if flags & _SIGN:
        if num >> 63:
            sign = b"-"
            num = (1 << 64) - num
            size -= 1
        elif flags & _PLUS:
            sign = b"+"
            size -= 1
        elif flags & _SPACE:
            sign = b" "
            size -= 1
    prefix = b""
    if flags & _SPECIAL:
        if base == 16:
            prefix = b"0X" if flags & _LARGE else b"0x"
            size -= 2
        elif base == 8:
            prefix = b"0"
            size -= 1
    if base == 16:
        digits = b"%X" % num if flags & _LARGE else b"%x" % num
    elif base == 8:
        digits = b"%o" % num
    else:
        digits = b"%d" % num
    count = len(digits)
    if count > precision:
        precision = count
    size -= precision
    head = b""
    if not flags & (_ZEROPAD | _LEFT) and size > 0:
        head = b" " * size
        size = 0
    fill = b""
    if not flags & _LEFT and size > 0:
        fill = (b"0" if flags & _ZEROPAD else b" ") * size
        size = 0
    tail = b" " * size if size > 0 else b""
    return head + sign + prefix + fill + b"0" * (precision - count) + digits + tail


_CHAR_ESCAPES: Final = {
    0x07: b"\\a",
    0x08: b"\\b",
    0x0C: b"\\f",
    0x0A: b"\\n",
    0x0D: b"\\r",
    0x09: b"\\t",
    0x0B: b"\\v",
    0x27: b"\\'",
    0x5C: b"\\\\",
}


def _char(value: int, width: int, flags: int) -> bytes:
    """``_stp_vsprint_char``: one byte (the low 8 bits), C-escaped under ``#``."""
    value &= 0xFF
    if flags & _SPECIAL and (value < 0x20 or value > 0x7E or value in (0x27, 0x5C)):
        body = _CHAR_ESCAPES.get(value) or b"\\%03o" % value
    else:
        body = bytes((value,))
    pad = width - len(body)
    if pad <= 0:
        return body
    return body + b" " * pad if flags & _LEFT else b" " * pad + body


def _cstring(value: bytes) -> bytes:
    """``value`` read as a C string: up to its first NUL byte."""
    end = value.find(0)
    return value if end < 0 else value[:end]


def _string(value: bytes, width: int, precision: int, flags: int) -> bytes:
    """``_stp_vsprint_memory`` for ``%s``; ``%0s`` appends a NUL byte."""
    limit = STP_BUFFER_SIZE if precision < 0 else min(precision, STP_BUFFER_SIZE)
    body = _cstring(value)[:limit]
    pad = width - len(body)
    if pad > 0:
        body = body + b" " * pad if flags & _LEFT else b" " * pad + body
    return body + b"\0" if flags & _ZEROPAD else body


def _binary_shape(width: int, precision: int, flags: int) -> tuple[int, int, int]:
    """``_stp_vsprint_binary``'s layout: (NULs before, value bytes, NULs after)."""
    if precision not in (1, 2, 4, 8):
        precision = -1
    if width == -1:
        if precision == -1:
            width = precision = 8
        else:
            width = precision
    elif precision == -1:
        precision = width if width in (1, 2, 4, 8) else 8
    pad = width - precision if width > precision else 0
    return (0, precision, pad) if flags & _LEFT else (pad, precision, 0)


def _binary(value: int, width: int, precision: int, flags: int) -> bytes:
    """``%b``: the value's low bytes, little-endian as on x86_64, NUL-padded to width."""
    before, size, after = _binary_shape(width, precision, flags)
    raw = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    return b"\0" * before + raw + b"\0" * after


# ---------------------------------------------------------------------------
# Parsed formats.


class _Literal:
    __slots__ = ("raw", "text")

    def __init__(self, raw: bytes, text: bytes) -> None:
        self.raw = raw  # the literal text; the size pass counts all of it: sizeof("...") - 1
        self.text = text  # what is copied: up to the first NUL, as the C loop does


class _Conversion:
    __slots__ = ("base", "flags", "kind", "precision", "precision_kind", "width", "width_kind")

    def __init__(
        self,
        kind: str,  # 'n' (number, %p included), 'c', 's', 'b', 'm', 'M'
        base: int,
        flags: int,
        width_kind: int,
        width: int,  # static width, as stap's unsigned field holds it
        precision_kind: int,
        precision: int,  # static precision, likewise
    ) -> None:
        self.kind = kind
        self.base = base
        self.flags = flags
        self.width_kind = width_kind
        self.width = width
        self.precision_kind = precision_kind
        self.precision = precision


if TYPE_CHECKING:
    _Item = _Literal | _Conversion
    _Args = Sequence[int | bytes]
    _Renderer = Callable[[_Args], bytes]


def _digits(fmt: bytes, i: int) -> tuple[int, int]:
    """Decimal digits at ``fmt[i:]`` into an ``unsigned`` (wrapping as C's does)."""
    value = 0
    n = len(fmt)
    while i < n and 0x30 <= fmt[i] <= 0x39:
        value = (value * 10 + fmt[i] - 0x30) & _U32
        i += 1
    return value, i


def _components(fmt: bytes) -> list[_Item]:
    """``print_format::string_to_components``."""
    items: list[_Item] = []
    literal = bytearray()
    have_literal = False
    n = len(fmt)
    i = 0
    while i < n:
        if fmt[i] != 0x25:  # '%'
            literal.append(fmt[i])
            have_literal = True
            i += 1
            continue
        if i + 1 == n:
            # stap reads past the end of the string here; 4.8 reports this message.
            raise FormatError(_INVALID)
        if fmt[i + 1] == 0x25:
            literal.append(0x25)
            have_literal = True
            i += 2
            continue
        if have_literal:
            text = bytes(literal)
            items.append(_Literal(text, _cstring(text)))
            literal.clear()
            have_literal = False
        i += 1
        flags = width = precision = 0
        width_kind = precision_kind = _NONE
        # The one optional flag.
        flag = _FLAG_CHARS.get(fmt[i])
        if flag is not None:
            flags = flag
            i += 1
        # Optional width.
        if i < n:
            if fmt[i] == 0x2A:  # '*'
                width_kind = _DYNAMIC
                i += 1
            elif 0x30 <= fmt[i] <= 0x39:
                width_kind = _STATIC
                width, i = _digits(fmt, i)
        # Optional precision; a '.' not followed by '*' or digits is dropped.
        if i < n and fmt[i] == 0x2E:  # '.'
            i += 1
            if i < n:
                if fmt[i] == 0x2A:
                    precision_kind = _DYNAMIC
                    i += 1
                elif 0x30 <= fmt[i] <= 0x39:
                    precision_kind = _STATIC
                    precision, i = _digits(fmt, i)
        # Optional 'l' modifier.
        if i < n and fmt[i] == 0x6C:  # 'l'
            i += 1
        if i == n:
            # stap stops here; a partly-parsed conversion is an error, a bare "%", "%."
            # or "%l" at the very end is silently dropped.
            if flags or width_kind != _NONE or precision_kind != _NONE:
                raise FormatError(_TRAILING)
            return items
        spec = _CONVERSIONS.get(fmt[i])
        if spec is None:
            raise FormatError(_INVALID)
        kind, base, implied, _ = spec
        items.append(
            _Conversion(kind, base, flags | implied, width_kind, width, precision_kind, precision)
        )
        i += 1
    if have_literal:
        text = bytes(literal)
        items.append(_Literal(text, _cstring(text)))
    return items


def _arg_types(items: Sequence[_Item]) -> tuple[str, ...]:
    types: list[str] = []
    for item in items:
        if isinstance(item, _Conversion):
            if item.width_kind == _DYNAMIC:
                types.append("long")
            if item.precision_kind == _DYNAMIC:
                types.append("long")
            types.append("string" if item.kind == "s" else "long")
    return tuple(types)


# ---------------------------------------------------------------------------
# The fast path: one generated function per format.


class _Codegen:
    """Builds ``def render(a): return b"..." % (...)`` for a list of items."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.exprs: list[str] = []
        self.namespace: dict[str, Any] = {"_cl": _cl8192, "_M": _U64}
        self.arg = 0

    def take(self) -> str:
        expr = f"a[{self.arg}]"
        self.arg += 1
        return expr

    def helper(self, func: object) -> str:
        name = f"_h{len(self.namespace)}"
        self.namespace[name] = func
        return name

    def literal(self, item: _Literal) -> None:
        self.pieces.append(item.text.replace(b"%", b"%%"))

    def conversion(self, conv: _Conversion) -> None:
        width_expr = self.take() if conv.width_kind == _DYNAMIC else None
        precision_expr = self.take() if conv.precision_kind == _DYNAMIC else None
        value = self.take()
        static_width = _clamp(conv.width, STP_BUFFER_SIZE) if conv.width_kind else -1
        static_precision = _clamp(conv.precision, STP_BUFFER_SIZE) if conv.precision_kind else -1
        flags = conv.flags
        kind = conv.kind

        python_ok = not (
            kind == "b"
            or (kind == "c" and flags & _SPECIAL)
            or (kind == "n" and conv.base == 8 and flags & _SPECIAL)
        )
        if not python_ok:
            self.via_helper(conv, width_expr, precision_expr, value)
            return

        spec = bytearray(b"%")
        if flags & _LEFT:
            spec += b"-"
        if kind == "n":
            if flags & _SIGN:
                if flags & _PLUS:
                    spec += b"+"
                elif flags & _SPACE:
                    spec += b" "
            else:
                value = f"({value} & _M)"
            if flags & _SPECIAL and conv.base == 16:
                spec += b"#"
            if flags & _ZEROPAD and not flags & _LEFT:
                spec += b"0"
        elif kind == "c":
            value = f"({value} & 255)"
        args: list[str] = []
        if width_expr is not None:
            spec += b"*"
            args.append(f"_cl({width_expr})")
        elif static_width > 0:
            spec += b"%d" % static_width
        if kind != "c":  # %c ignores its precision (but still consumes a '*' argument)
            if precision_expr is not None:
                spec += b".*"
                args.append(f"_cl({precision_expr})")
            elif static_precision >= 0:
                spec += b".%d" % static_precision
        if kind != "n":
            spec += kind.encode()
        elif conv.base == 10:
            spec += b"d"
        elif conv.base == 8:
            spec += b"o"
        else:
            spec += b"X" if flags & _LARGE else b"x"
        if kind == "s" and flags & _ZEROPAD:
            spec += b"\0"
        args.append(value)
        self.pieces.append(bytes(spec))
        self.exprs.extend(args)

    def via_helper(
        self, conv: _Conversion, width_expr: str | None, precision_expr: str | None, value: str
    ) -> None:
        if width_expr is None and precision_expr is None:
            width = _clamp(conv.width, STP_BUFFER_SIZE) if conv.width_kind else -1
            precision = _clamp(conv.precision, STP_BUFFER_SIZE) if conv.precision_kind else -1
            call = f"{self.helper(_static_helper(conv, width, precision))}({value})"
        else:
            general = self.helper(_general_helper(conv))
            w = f"_cl({width_expr})" if width_expr is not None else "-1"
            if conv.width_kind == _STATIC:
                w = str(_clamp(conv.width, STP_BUFFER_SIZE))
            p = f"_cl({precision_expr})" if precision_expr is not None else "-1"
            if conv.precision_kind == _STATIC:
                p = str(_clamp(conv.precision, STP_BUFFER_SIZE))
            call = f"{general}({value}, {w}, {p})"
        self.pieces.append(b"%s")
        self.exprs.append(call)

    def build(self, nul_check: str, cut: bool, stream: _Renderer, string: _Renderer) -> None:
        """Define ``printf(a)`` and ``sprintf(a)`` in :attr:`namespace`.

        Each formats with ``bytes %`` and falls back to ``stream``/``string`` (the exact
        emulation of the C code) when the result would reach the end of the buffer, or when
        ``nul_check`` (a Python condition) is false.  ``cut``: the format writes NUL bytes
        of its own, which end the string ``sprintf`` returns.
        """
        self.namespace["_F"] = b"".join(self.pieces)
        self.namespace["_slow_stream"] = stream
        self.namespace["_slow_string"] = string
        self.namespace["_cstring"] = _cstring
        if not self.exprs:
            value = "_F % ()"
        elif self.exprs == [f"a[{i}]" for i in range(self.arg)]:
            value = "_F % tuple(a)"
        else:
            value = f"_F % ({', '.join(self.exprs)},)"
        ok = f" and {nul_check}" if nul_check else ""
        result = "_cstring(out)" if cut else "out"
        source = (
            "def printf(a):\n"
            f"    out = {value}\n"
            f"    if len(out) <= {STP_BUFFER_SIZE}{ok}:\n"
            "        return out\n"
            "    return _slow_stream(a)\n"
            "def sprintf(a):\n"
            f"    out = {value}\n"
            f"    if len(out) < {MAXSTRINGLEN}{ok}:\n"
            f"        return {result}\n"
            "    return _slow_string(a)\n"
        )
        exec(source, self.namespace)


def _cl8192(value: int) -> int:
    return _clamp(value, STP_BUFFER_SIZE)


def _static_helper(conv: _Conversion, width: int, precision: int) -> Callable[[int], bytes]:
    """A conversion of a value, width and precision fixed, for the fast path's odd cases."""
    flags = conv.flags
    if conv.kind == "b":
        before, size, after = _binary_shape(width, precision, flags)
        mask = (1 << (8 * size)) - 1
        lead, trail = b"\0" * before, b"\0" * after
        return lambda v: lead + (v & mask).to_bytes(size, "little") + trail
    if conv.kind == "c":
        return lambda v: _char(v, width, flags)
    base = conv.base
    return lambda v: _number(v, base, width, precision, flags)


def _general_helper(conv: _Conversion) -> Callable[[int, int, int], bytes]:
    """A conversion of ``(value, width, precision)``, for the fast path's odd cases."""
    flags = conv.flags
    if conv.kind == "b":
        return lambda v, w, p: _binary(v, w, p, flags)
    if conv.kind == "c":
        return lambda v, w, p: _char(v, w, flags)
    base = conv.base
    return lambda v, w, p: _number(v, base, w, p, flags)


# ---------------------------------------------------------------------------


def _plain_string(args: _Args) -> bytes:
    """``printf("%s", s)``, which stap writes with ``_stp_print(s)``: no size limit."""
    return _cstring(args[0])  # type: ignore[arg-type]  # "%s" takes a string


class Format:
    """A parsed format string; build it with :func:`parse_format`.

    ``render(args)`` and ``render_string(args)`` are plain attributes holding functions
    generated for this format (a method call would cost a third of a fast render):

    * ``render(args) -> bytes``: the bytes one ``printf(fmt, args...)`` writes to the output
      stream: at most STP_BUFFER_SIZE bytes, NUL bytes included.
    * ``render_string(args) -> bytes``: the string ``sprintf(fmt, args...)`` returns: at
      most MAXSTRINGLEN - 1 bytes, up to the first NUL byte.

    ``args`` holds one value per entry of ``arg_types``: an ``int`` (a signed 64-bit long)
    for ``'long'``, ``bytes`` for ``'string'``.
    """

    __slots__ = ("_items", "_string_args", "arg_types", "fmt", "render", "render_string")

    fmt: bytes
    arg_types: tuple[str, ...]
    """The type of each argument, in order, ``*`` widths and precisions included."""
    render: Callable[[Sequence[int | bytes]], bytes]
    render_string: Callable[[Sequence[int | bytes]], bytes]

    def __init__(self, fmt: bytes) -> None:
        items = _components(fmt)
        for item in items:
            if isinstance(item, _Conversion) and item.kind in ("m", "M"):
                raise FormatError(
                    f"the %{item.kind} memory dump conversion is not supported"
                    " by the python runtime"
                )
        self.fmt = fmt
        self._items: tuple[_Item, ...] = tuple(items)
        self.arg_types = _arg_types(items)
        self._string_args = tuple(i for i, t in enumerate(self.arg_types) if t == "string")

        gen = _Codegen()
        makes_nul = False
        exact = False
        for item in items:
            if isinstance(item, _Literal):
                gen.literal(item)
                if item.text != item.raw:
                    exact = True  # a NUL inside a literal: sizes and bytes disagree
            else:
                gen.conversion(item)
                if item.kind in ("c", "b") or (item.kind == "s" and item.flags & _ZEROPAD):
                    makes_nul = True
                if item.kind == "b" and (
                    item.precision_kind == _DYNAMIC
                    or (
                        item.precision_kind == _STATIC
                        and _clamp(item.precision, STP_BUFFER_SIZE) not in (1, 2, 4, 8)
                    )
                ):
                    # The precision is clamped to the room left before %b checks it.
                    exact = True
        if exact:
            self.render = self._stream
            self.render_string = self._string
        else:
            if makes_nul:
                # The format writes NULs of its own: string arguments must have none.
                nul_check = " and ".join(f"0 not in a[{i}]" for i in self._string_args)
            elif self._string_args:
                nul_check = "0 not in out"  # an int needle: memchr, 8x faster than b"\\0"
            else:
                nul_check = ""
            gen.build(nul_check, makes_nul, self._stream, self._string)
            self.render = gen.namespace["printf"]
            self.render_string = gen.namespace["sprintf"]

        # translate.cxx writes these with _stp_print(), not through the compiled printf:
        # a format without arguments (and without "%%"), or exactly "%s".
        if not self.arg_types and b"%%" not in fmt:
            verbatim = b"".join(i.text for i in items if isinstance(i, _Literal))
            self.render = lambda a: verbatim
        elif fmt == b"%s":
            self.render = _plain_string

    def __repr__(self) -> str:
        return f"parse_format({self.fmt!r})"

    # -- the exact emulation of the C code (the slow path) ----------------------

    def _stream(self, args: _Args) -> bytes:
        """printf the C way: size pass, reservation of at most 8192 bytes, bounded writes."""
        size = min(self._measure(args), STP_BUFFER_SIZE)
        if size <= 0:
            return b""
        buf, _ = self._emit(args, size)
        # Bytes reserved but never written (a NUL in a literal, a %b that did not fit)
        # hold whatever the print buffer held; a fresh buffer holds zeros.
        return bytes(buf) + b"\0" * (size - len(buf))

    def _string(self, args: _Args) -> bytes:
        """sprintf the C way: writes bounded by the MAXSTRINGLEN result buffer."""
        buf, pos = self._emit(args, MAXSTRINGLEN)
        out = bytes(buf[: MAXSTRINGLEN - 1]) if pos >= MAXSTRINGLEN else bytes(buf)
        return _cstring(out)

    def _measure(self, args: _Args) -> int:
        """The size pass of a compiled printf (widths clamped to STP_BUFFER_SIZE)."""
        total = 0
        index = 0
        for item in self._items:
            if isinstance(item, _Literal):
                total += len(item.raw)
                continue
            piece, index = _convert(item, args, index, STP_BUFFER_SIZE)
            total += len(piece)
        return total

    def _emit(self, args: _Args, cap: int) -> tuple[bytearray, int]:
        """Write into a buffer of ``cap`` bytes as the compiled printf does.

        Returns the bytes written and the final write position, which number() and
        _stp_vsprint_char() may carry past the end of the buffer.
        """
        buf = bytearray()
        pos = 0
        index = 0
        for item in self._items:
            room = cap - pos
            if isinstance(item, _Literal):
                if room > 0:
                    text = item.text[:room]
                    buf += text
                    pos += len(text)
                continue
            if item.kind == "b":
                pos, index = _emit_binary(item, args, index, buf, pos, cap)
                continue
            piece, index = _convert(item, args, index, room)
            if room > 0:
                buf += piece[:room]
            if item.kind == "s":
                pos += min(len(piece), max(room, 0))
            else:
                pos += len(piece)
        return buf, pos


def _width_precision(conv: _Conversion, args: _Args, index: int, high: int) -> tuple[int, int, int]:
    """Width and precision as the compiled printf computes them; ``high`` is the room."""
    width = precision = -1
    if conv.width_kind == _DYNAMIC:
        value = args[index]
        assert isinstance(value, int)
        width = _clamp(value, high)
        index += 1
    elif conv.width_kind == _STATIC:
        width = _clamp(conv.width, high)
    if conv.precision_kind == _DYNAMIC:
        value = args[index]
        assert isinstance(value, int)
        precision = _clamp(value, high)
        index += 1
    elif conv.precision_kind == _STATIC:
        precision = _clamp(conv.precision, high)
    return width, precision, index


def _convert(conv: _Conversion, args: _Args, index: int, high: int) -> tuple[bytes, int]:
    """One conversion's full output, width and precision clamped to ``[0, high]``."""
    width, precision, index = _width_precision(conv, args, index, high)
    value = args[index]
    index += 1
    if conv.kind == "s":
        assert isinstance(value, bytes)
        return _string(value, width, precision, conv.flags), index
    assert isinstance(value, int)
    if conv.kind == "c":
        return _char(value, width, conv.flags), index
    if conv.kind == "b":
        return _binary(value, width, precision, conv.flags), index
    return _number(value, conv.base, width, precision, conv.flags), index


def _emit_binary(
    conv: _Conversion, args: _Args, index: int, buf: bytearray, pos: int, cap: int
) -> tuple[int, int]:
    """``_stp_vsprint_binary`` on a bounded buffer: the value is skipped if it won't fit."""
    width, precision, index = _width_precision(conv, args, index, cap - pos)
    value = args[index]
    assert isinstance(value, int)
    index += 1
    if pos >= cap:
        return pos, index
    before, size, after = _binary_shape(width, precision, conv.flags)
    pad = min(before, cap - pos)
    buf += b"\0" * pad
    pos += pad
    if pad < before:
        return pos, index
    if pos + size <= cap:
        buf += (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        pos += size
    pad = min(after, cap - pos)
    buf += b"\0" * pad
    pos += pad
    return pos, index


_CACHE_SIZE: Final = 4096
_cache: dict[bytes, Format] = {}  # least recently used first


def parse_format(fmt: bytes) -> Format:
    """Parse ``fmt`` (raising :class:`FormatError` where stap would refuse it).

    ``fmt`` is the format's bytes after escape decoding.  stap parses the format before the
    C compiler decodes its escapes, so a ``%`` written as an escape (``"\\045d"``) is plain
    text there: the caller should turn such a ``%`` into ``%%``.  Results are cached (the
    4096 formats used last: ``functools.lru_cache(4096)`` without importing functools).
    """
    found = _cache.pop(fmt, None)
    if found is None:
        found = Format(fmt)
        if len(_cache) >= _CACHE_SIZE:
            del _cache[next(iter(_cache))]
    _cache[fmt] = found
    return found

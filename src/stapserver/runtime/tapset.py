"""Python versions of the SystemTap 4.8 tapset functions that mean something in user space.

Each function follows the body of the tapset function it is named after (the embedded C in
``/usr/share/systemtap/tapset/**.stp`` and the runtime C it calls, as built for x86_64
Linux), including its quirks, rather than its manual page where the two disagree.

Conventions (see :mod:`stapserver.runtime.base`):

* a stap ``long`` is a Python ``int`` within signed 64 bits; results are wrapped with
  :func:`~stapserver.runtime.base.wrap` wherever the C code would overflow;
* a stap ``string`` is ``bytes``.  Arguments are assumed to be valid stap strings: no NUL
  byte and at most ``MAXSTRINGLEN - 1`` bytes long;
* **MAXSTRINGLEN truncation is the caller's job.**  A string-producing function returns
  its whole result, and the generated code cuts it to ``MAXSTRINGLEN - 1`` bytes, as it
  does for every other string expression.  The exceptions are the functions whose
  *behaviour* (not merely the length of the result) depends on MAXSTRINGLEN:
  :func:`text_str`, :func:`text_strn`, :func:`string_quoted` (where the ``"..."``
  truncation marker goes), :func:`env_var` and the ``cmdline_*`` functions (which walk
  process memory in MAXSTRINGLEN-sized reads).  They, and :func:`indent` and
  :func:`thread_indent` (which cap their padding there), take a keyword-only
  ``maxstringlen`` defaulting to :data:`MAXSTRINGLEN`;
* a run-time error is raised as :class:`~stapserver.runtime.base.ScriptError` carrying
  stap's message (``Position out of bounds``);
* state that stap keeps in the probe context or in tapset globals (the tokenizer, the
  random seed, the indent counters, the stopwatches, the time zone sent by staprun) lives
  in a :class:`TapsetState` that the runtime creates once per session.  The functions that
  need it take it as their first argument, and their :class:`Signature` says so
  (``needs_state``).

:data:`FUNCTIONS` is the table the translator's semantic pass uses.  ``print``/``printf``
and friends, ``exit``, ``error``, ``target`` and the statistics functions are handled by the
translator itself and are not in it.  The table (with :class:`Signature`,
:data:`OVERLOADS` and :func:`lookup`) is defined in :mod:`signatures` and imported on first
use of one of these names here, as a running module needs only the functions.  So are the
standard modules a few functions need (``gzip``, ``platform``, ``datetime``,
``threading``): the engine imports this module on every run.
"""

from __future__ import annotations

import os
import sys
import time

from stapserver.runtime.base import ScriptError, unsigned, wrap

TYPE_CHECKING = False
if TYPE_CHECKING:  # at run time, __getattr__ (at the end) imports them on first use
    from collections.abc import Callable
    from typing import Any

    from .signatures import FUNCTIONS as FUNCTIONS
    from .signatures import OVERLOADS as OVERLOADS
    from .signatures import ArgType as ArgType
    from .signatures import ReturnType as ReturnType
    from .signatures import Signature as Signature
    from .signatures import lookup as lookup

MAXSTRINGLEN = 512
"""stap's default MAXSTRINGLEN: the size of a string buffer, terminating NUL included."""

_U32 = 0xFFFF_FFFF
_U64 = 0xFFFF_FFFF_FFFF_FFFF

EV: tuple[Any, ...] | None = None
"""The kernel event being handled (runtime/events.py: index, cpu, tid, pid, uid, gid,
time, comm, fields...), None outside kernel-event handlers: context functions then
describe the task of the event, not this process."""

_REALTIME_OFFSET: list[int] = []  # CLOCK_REALTIME - CLOCK_MONOTONIC, measured once


def _extra() -> Any:
    """The event's :class:`~stapserver.runtime.events.Extra` (captured strings, task
    context, perf sample), or None."""
    ev = EV
    if ev is None:
        return None
    x = ev[-1]
    return x if type(x).__name__ == "Extra" else None


def _captured(name: str) -> Any:
    """A task context item captured with the event (kernel/programs.py), or None."""
    x = _extra()
    if x is None or x.context is None:
        return None
    return x.context.get(name)


def _event_time_ns(ev: tuple[Any, ...]) -> int:
    if not _REALTIME_OFFSET:
        _REALTIME_OFFSET.append(time.time_ns() - time.monotonic_ns())
    return int(ev[6]) + _REALTIME_OFFSET[0]


_LITTLE_ENDIAN_HOST = sys.byteorder == "little"


def _cdiv(a: int, b: int) -> int:
    """C's ``/`` on longs (truncates toward zero); ``b`` is never 0 here."""
    q = abs(a) // abs(b)
    return wrap(q if (a < 0) == (b < 0) else -q)


def _cmod(a: int, b: int) -> int:
    """C's ``%`` on longs (the sign follows the dividend); ``b`` is never 0 here."""
    return a - _cdiv(a, b) * b if b not in (1, -1) else 0


def _int32(value: int) -> int:
    """The C ``int`` an ``int64_t`` becomes when passed to an ``int`` parameter."""
    return ((value + (1 << 31)) & _U32) - (1 << 31)


# --------------------------------------------------------------------------------------
# Per-session state
# --------------------------------------------------------------------------------------


class TapsetState:
    """The state stap keeps between tapset calls, owned by the runtime, one per session.

    * the :func:`tokenize` cursor (stap keeps it in the probe context),
    * the seed of :func:`randint`'s generator (``_stp_random_u``),
    * the time zone staprun sends at start-up (:func:`tz_gmtoff`, :func:`tz_name`),
    * ``indent.stp``'s and ``stopwatch.stp``'s global arrays,
    * the pid :func:`stp_pid` reports,
    * ``out``, where the ansi.stp functions print: the session's output, set by the
      engine (None: they raise an error).

    ``seed`` fixes the random seed (stap seeds with ``jiffies`` on first use); the time
    zone and ``stp_pid`` are taken from the running process unless given.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        tz_gmtoff: int | None = None,
        tz_name: bytes | None = None,
        stp_pid: int | None = None,
    ) -> None:
        # tokenize: a copy of the input and where the next strsep starts (None = done).
        self.tok_buf = b""
        self.tok_start: int | None = None
        self.random_seed = None if seed is None else seed & _U64
        if tz_gmtoff is None or tz_name is None:
            now = time.localtime()
            # staprun: tz_gmtoff = - tm_gmtoff; strncpy(tz_name, tm_zone, 64)
            if tz_gmtoff is None:
                tz_gmtoff = -(now.tm_gmtoff or 0)
            if tz_name is None:
                tz_name = (now.tm_zone or "").encode("utf-8", "replace")[:63]
        self.tz_gmtoff = tz_gmtoff
        self.tz_name = tz_name
        self.stp_pid = os.getpid() if stp_pid is None else stp_pid
        self.indent_counters: dict[int, int] = {}
        self.indent_timestamps: dict[int, int] = {}
        self.stopwatch_start: dict[bytes, int] = {}
        self.stopwatch_acc: dict[bytes, int] = {}
        # where ansi.stp's functions print: the session's output (the engine sets it)
        self.out: Callable[[bytes], None] | None = None

    def strsep(self, delim: bytes) -> bytes | None:
        """C's ``strsep(&tok_start, delim)`` on the tokenizer's buffer."""
        start = self.tok_start
        if start is None:
            return None
        buf = self.tok_buf
        end = len(buf)
        for d in set(delim):
            i = buf.find(d, start, end)
            if i >= 0:
                end = i
        if end < len(buf):
            self.tok_start = end + 1
        else:
            self.tok_start = None
        return buf[start:end]


# --------------------------------------------------------------------------------------
# string.stp
# --------------------------------------------------------------------------------------


def strlen(s: bytes) -> int:
    """``strlen:long(s:string)``."""
    return len(s)


def substr(s: bytes, start: int, length: int) -> bytes:
    """``substr:string(str:string, start:long, length:long)``.

    Empty unless ``0 <= start < strlen(str)``; ``length <= 0`` gives "".
    """
    size = min(max(wrap(length + 1), 0), MAXSTRINGLEN)  # clamp_t(length + 1, 0, MAXSTRINGLEN)
    if 0 <= start < len(s) and size > 0:
        return s[start : start + size - 1]  # strlcpy(ret, str + start, size)
    return b""


def stringat(s: bytes, pos: int) -> int:
    """``stringat:long(str:string, pos:long)``: the (signed, as x86's ``char``) byte at pos."""
    if 0 <= pos < len(s):
        c = s[pos]
        return c - 256 if c >= 128 else c
    raise ScriptError("Position out of bounds")


def isinstr(s1: bytes, s2: bytes) -> int:
    """``isinstr:long(s1:string, s2:string)``: 1 if s2 occurs in s1 (always for s2 "")."""
    return 1 if s2 in s1 else 0


def strpos(s1: bytes, s2: bytes) -> int:
    """``strpos:long(s1:string, s2:string)``: index of s2 in s1, or -1."""
    return s1.find(s2)


def str_replace(prnt_str: bytes, srch_str: bytes, rplc_str: bytes) -> bytes:
    """``str_replace:string(prnt_str:string, srch_str:string, rplc_str:string)``."""
    if not srch_str:
        return prnt_str
    return prnt_str.replace(srch_str, rplc_str)


_HEXDIGITS = "0123456789abcdefABCDEF"


def _parse_integer(s: bytes, base: int) -> int:
    """Linux ``simple_strtoull`` (``_parse_integer_fixup_radix`` + ``_parse_integer``)."""
    c0 = s[0] if len(s) > 0 else 0
    c1 = s[1] if len(s) > 1 else 0
    c2 = s[2] if len(s) > 2 else 0
    if base == 0 and c0 != 0x30:
        base = 10
    elif base == 0:  # a leading '0': hex if "0x" and a hex digit follow, else octal
        base = 16 if c1 | 0x20 == 0x78 and chr(c2) in _HEXDIGITS else 8
    pos = 0
    if base == 16 and c0 == 0x30 and c1 | 0x20 == 0x78:
        pos = 2
    result = 0
    for c in s[pos:]:
        lc = c | 0x20
        if 0x30 <= c <= 0x39:
            val = c - 0x30
        elif 0x61 <= lc <= 0x66:
            val = lc - 0x61 + 10
        else:
            break
        if val >= base:
            break
        result = (result * base + val) & _U64
    return result


def strtol(s: bytes, base: int) -> int:
    """``strtol:long(str:string, base:long)``: the kernel's ``simple_strtol``.

    No whitespace or ``+`` is skipped, invalid input gives 0 (or the value of the valid
    prefix), base 0 guesses from a ``0``/``0x`` prefix, digits are ``0-9a-fA-F`` only
    (whatever the base), overflow wraps.
    """
    ubase = base & _U32  # unsigned int base
    if s[:1] == b"-":
        return wrap(-_parse_integer(s[1:], ubase))
    return wrap(_parse_integer(s, ubase))


def isdigit(s: bytes) -> int:
    """``isdigit:long(str:string)``: 1 if the first character is 0-9 (the kernel's isdigit)."""
    return 1 if s[:1].isdigit() else 0


# _stp_text_str ------------------------------------------------------------------------

_SHORT_ESCAPES = {
    0x07: b"\\a",
    0x08: b"\\b",
    0x0C: b"\\f",
    0x0A: b"\\n",
    0x0D: b"\\r",
    0x09: b"\\t",
    0x0B: b"\\v",
    0x22: b'\\"',
    0x5C: b"\\\\",
}
_PLAIN = frozenset(range(0x20, 0x7F)) - {0x22, 0x5C}


def _decode_utf8(data: bytes, pos: int, size: int) -> tuple[int, int]:
    """``_stp_decode_utf8``: (bytes consumed, code point); bytes past ``data`` read as NUL."""
    b = data[pos] if pos < len(data) else 0
    size -= 1
    if b & 0xE0 == 0xC0 and size >= 1:
        n, c = 2, b & 0x1F
    elif b & 0xF0 == 0xE0 and size >= 2:
        n, c = 3, b & 0x0F
    elif b & 0xF8 == 0xF0 and size >= 3:
        n, c = 4, b & 0x07
    else:
        return 1, b
    for i in range(1, n):
        b2 = data[pos + i] if pos + i < len(data) else 0
        if b2 & 0xC0 != 0x80:
            return 1, b
        c = (c << 6) | (b2 & 0x3F)
    if 0xD800 <= c <= 0xDFFF or c > 0x10FFFF:
        return 1, b
    if c < 0x80 or (n == 3 and c < 0x800) or (n == 4 and c < 0x10000):
        return 1, b
    return n, c


def _stp_text_str(s: bytes, inlen: int, outlen: int, quoted: int, maxstringlen: int) -> bytes:
    """The runtime's ``_stp_text_str(out, in, inlen, outlen, quoted, user=0, buffer=0)``."""
    if inlen <= 0 or inlen > maxstringlen - 1:
        inlen = maxstringlen - 1
    if outlen <= 0 or outlen > maxstringlen - 1:
        outlen = maxstringlen - 1
    if not quoted and len(s) <= outlen and _PLAIN.issuperset(s):
        return s  # nothing to escape, nothing to cut
    data = s[:inlen]
    out = bytearray()
    if quoted:
        outlen = max(outlen, 5) - 2
        out += b'"'
    esc: int | None = None  # start of the first escape the truncation could cut
    esc_len = 0
    c = 0
    pos = 0
    while inlen > 0:
        n, c = _decode_utf8(data, pos, inlen)
        if c == 0 or outlen <= 0:
            break
        pos += n
        inlen -= n
        if n > 1:
            num = 6 if c <= 0xFFFF else 10
            if esc is None and outlen - 3 < num:
                esc, esc_len = len(out), num
            if outlen < num:
                break
            out += (b"\\u%04X" % c) if c <= 0xFFFF else (b"\\U%08X" % c)
        elif c in _PLAIN:
            num = 1
            out.append(c)
        else:
            short = _SHORT_ESCAPES.get(c)
            num = 2 if short is not None else 4
            if esc is None and outlen - 3 < num:
                esc, esc_len = len(out), num
            if outlen < num:
                break
            out += short if short is not None else b"\\%03o" % c
        outlen -= num
    if quoted:
        if c and inlen > 0:
            truncptr = len(out) - 3 + outlen
            cut = esc if esc is not None and esc < truncptr < esc + esc_len else truncptr
            del out[cut:]
            out += b'"...'
        else:
            out += b'"'
    return bytes(out)


def text_str(s: bytes, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``text_str:string(input:string)``: escape what is not printable ASCII.

    ``"`` and ``\\`` are backslashed, ``\\a\\b\\f\\n\\r\\t\\v`` get their short escapes,
    other bytes below 0x20 or above 0x7e become ``\\ooo`` (octal), except that valid
    UTF-8 sequences become ``\\uXXXX``/``\\UXXXXXXXX``.  At most ``maxstringlen - 1``
    bytes out; an escape that does not fit whole is dropped.
    """
    return _stp_text_str(s, 0, 0, 0, maxstringlen)


def text_strn(s: bytes, length: int, quoted: int, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``text_strn:string(input:string, len:long, quoted:long)``.

    :func:`text_str` cut to ``len`` bytes (0 = MAXSTRINGLEN - 1); if ``quoted``, in
    double quotes, with ``"...`` instead of the closing quote when cut (the result then
    being ``max(len, 5)`` bytes).
    """
    outlen = min(max(length, 0), maxstringlen)
    return _stp_text_str(s, 0, outlen, _int32(quoted), maxstringlen)


def string_quoted(s: bytes, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``string_quoted:string(str:string)``: ``text_strn(str, 0, 1)``."""
    return _stp_text_str(s, maxstringlen, maxstringlen, 1, maxstringlen)


# --------------------------------------------------------------------------------------
# tokenize.stp
# --------------------------------------------------------------------------------------


def tokenize(state: TapsetState, s: bytes, delim: bytes) -> bytes:
    """``tokenize:string(input:string, delim:string)``.

    A non-empty ``input`` starts a new tokenization; "" continues the previous one.
    Returns the next non-empty token (separated by any byte of ``delim``), "" when none
    is left.
    """
    if s:
        state.tok_buf = s[: MAXSTRINGLEN - 1]
        state.tok_start = 0
    token = state.strsep(delim)
    while token == b"":
        token = state.strsep(delim)
    return token or b""


def tokenize1(state: TapsetState, delim: bytes) -> bytes:
    """``tokenize:string(delim:string)``: ``tokenize("", delim)``."""
    return tokenize(state, b"", delim)


# --------------------------------------------------------------------------------------
# random.stp
# --------------------------------------------------------------------------------------

_RANDMAX = 1024 * 1024


def randint(state: TapsetState, n: int) -> int:
    """``randint:long(n:long)``: 0 <= r < n from ``_stp_random_u``'s LCG; n <= 2**20."""
    if unsigned(n) > _RANDMAX:
        raise ScriptError("range too wide")
    if state.random_seed is None:
        state.random_seed = unsigned(jiffies())
    state.random_seed = (state.random_seed * 1103515245 + 12345) & _U64
    return 0 if n == 0 else state.random_seed % n


# --------------------------------------------------------------------------------------
# errno.stp
# --------------------------------------------------------------------------------------

_ERRNO_NAMES = (
    "", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF",
    "ECHILD", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV",
    "ENODEV", "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG",
    "ENOSPC", "ESPIPE", "EROFS", "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK",
    "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP", "", "ENOMSG", "EIDRM", "ECHRNG",
    "EL2NSYNC", "EL3HLT", "EL3RST", "ELNRNG", "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR",
    "EXFULL", "ENOANO", "EBADRQC", "EBADSLT", "", "EBFONT", "ENOSTR", "ENODATA", "ETIME",
    "ENOSR", "ENONET", "ENOPKG", "EREMOTE", "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO",
    "EMULTIHOP", "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD", "EREMCHG",
    "ELIBACC", "ELIBBAD", "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ", "ERESTART", "ESTRPIPE",
    "EUSERS", "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT",
    "EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT",
    "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED",
    "ECONNRESET", "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT",
    "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE",
    "EUCLEAN", "ENOTNAM", "ENAVAIL", "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM",
    "EMEDIUMTYPE", "ECANCELED", "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED", "EKEYREJECTED",
    "EOWNERDEAD", "ENOTRECOVERABLE",
)  # fmt: skip
"""errno.stp's ``errlist`` for x86_64 (asm-generic numbering); "" marks a hole."""


def _errno_index(err: int) -> int:
    e = err if err > 0 else wrap(-err)  # -LONG_MIN stays negative
    return e if 0 < e < len(_ERRNO_NAMES) and _ERRNO_NAMES[e] else 0


def errno_str(err: int) -> bytes:
    """``errno_str:string(err:long)``: ``ENOENT`` for 2 or -2; "" if unknown."""
    return _ERRNO_NAMES[_errno_index(err)].encode()


def errno_p(err: int) -> int:
    """``errno_p:long(err:long)``: |err| if it is a known errno, else 0."""
    return _errno_index(err)


def return_str(fmt: int, ret: int) -> bytes:
    """``return_str:string(format:long, ret:long)``: ``-2 (ENOENT)``, or ret in dec/hex/oct."""
    if ret < 0 and errno_p(ret):
        return b"%d (%s)" % (ret, errno_str(ret))
    if fmt == 2:
        return b"0x%x" % unsigned(ret)
    if fmt == 3:
        return b"0%o" % unsigned(ret)  # the runtime's %#o: always a leading 0 ("00" for 0)
    return b"%d" % ret


# --------------------------------------------------------------------------------------
# Conversions: endian.stp, inet.stp, dev.stp, ip.stp, aux_syscalls.stp, signal.stp
# --------------------------------------------------------------------------------------


def _swab(value: int, nbytes: int) -> int:
    return int.from_bytes(value.to_bytes(nbytes, "little"), "big")


def _to_be(value: int, nbytes: int) -> int:
    mask = (1 << (8 * nbytes)) - 1
    v = value & mask
    return wrap(_swab(v, nbytes) if _LITTLE_ENDIAN_HOST else v)


def _to_le(value: int, nbytes: int) -> int:
    mask = (1 << (8 * nbytes)) - 1
    v = value & mask
    return wrap(v if _LITTLE_ENDIAN_HOST else _swab(v, nbytes))


def big_endian2(val: int) -> int:
    """``big_endian2:long(val:long)``: ``cpu_to_be16``."""
    return _to_be(val, 2)


def big_endian4(val: int) -> int:
    """``big_endian4:long(val:long)``: ``cpu_to_be32``."""
    return _to_be(val, 4)


def big_endian8(val: int) -> int:
    """``big_endian8:long(val:long)``: ``cpu_to_be64``."""
    return _to_be(val, 8)


def little_endian2(val: int) -> int:
    """``little_endian2:long(val:long)``: ``cpu_to_le16``."""
    return _to_le(val, 2)


def little_endian4(val: int) -> int:
    """``little_endian4:long(val:long)``: ``cpu_to_le32``."""
    return _to_le(val, 4)


def little_endian8(val: int) -> int:
    """``little_endian8:long(val:long)``: ``cpu_to_le64``."""
    return _to_le(val, 8)


def htons(x: int) -> int:
    """``htons:long(x:long)``."""
    return _to_be(x, 2)


def htonl(x: int) -> int:
    """``htonl:long(x:long)``."""
    return _to_be(x, 4)


def htonll(x: int) -> int:
    """``htonll:long(x:long)``."""
    return _to_be(x, 8)


def ntohs(x: int) -> int:
    """``ntohs:long(x:long)``."""
    return _to_be(x, 2)


def ntohl(x: int) -> int:
    """``ntohl:long(x:long)``."""
    return _to_be(x, 4)


def ntohll(x: int) -> int:
    """``ntohll:long(x:long)``."""
    return _to_be(x, 8)


_MINORBITS = 20
_MINORMASK = (1 << _MINORBITS) - 1


def MAJOR(dev: int) -> int:
    """``MAJOR:long(dev:long)``: ``(unsigned int)(dev >> 20)``."""
    return (dev >> _MINORBITS) & _U32


def MINOR(dev: int) -> int:
    """``MINOR:long(dev:long)``: ``dev & 0xfffff``."""
    return dev & _MINORMASK


def MKDEV(major: int, minor: int) -> int:
    """``MKDEV:long(major:long, minor:long)``: ``(major << 20) | minor``."""
    return wrap((major << _MINORBITS) | minor)


def usrdev2kerndev(dev: int) -> int:
    """``usrdev2kerndev:long(dev:long)``: the kernel's ``new_decode_dev``."""
    d = dev & _U32
    major = (d & 0xFFF00) >> 8
    minor = (d & 0xFF) | ((d >> 12) & 0xFFF00)
    return ((major << _MINORBITS) | minor) & _U32


def ip_ntop(addr: int) -> bytes:
    """``ip_ntop:string(addr:long)``: ``%pI4`` of the 32-bit address as laid out in memory."""
    raw = (addr & _U32).to_bytes(4, sys.byteorder)
    return b".".join(b"%d" % octet for octet in raw)


def WIFEXITED(f: int) -> int:
    """``WIFEXITED(f)``: ``(f & 0x7f) == 0``."""
    return 1 if f & 0x7F == 0 else 0


def WEXITSTATUS(f: int) -> int:
    """``WEXITSTATUS(f)``: ``(f & 0xff00) >> 8``."""
    return (f & 0xFF00) >> 8


def WTERMSIG(f: int) -> int:
    """``WTERMSIG(f)``: ``f & 0x7f``."""
    return f & 0x7F


_SIGNAL_NAMES = (
    ["", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
     "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
     "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO/POLL", "PWR", "SYS", "RTMIN"]
    + [f"RTMIN+{i}" for i in range(1, 33)]
)  # fmt: skip


def signal_str(num: int) -> bytes:
    """``signal_str(num)``: ``HUP`` for 1 ... ``RTMIN+32`` for 64; "" otherwise."""
    return _SIGNAL_NAMES[num].encode() if 0 < num < len(_SIGNAL_NAMES) else b""


# --------------------------------------------------------------------------------------
# task_time.stp, proc_mem.stp: formatting
# --------------------------------------------------------------------------------------


def _time_to_string(value: int, per_second: int, digits: int) -> bytes:
    frac = _cmod(value, per_second)
    secs = _cdiv(value, per_second)
    mins = _cdiv(secs, 60)
    secs = _cmod(secs, 60)
    return b"%dm%d.%.*ds" % (mins, secs, digits, frac)


def msecs_to_string(msecs: int) -> bytes:
    """``msecs_to_string:string(msecs:long)``: ``"%dm%d.%.3ds"`` (minutes, s, ms)."""
    return _time_to_string(msecs, 1000, 3)


def usecs_to_string(usecs: int) -> bytes:
    """``usecs_to_string:string(usecs:long)``: ``"%dm%d.%.6ds"``."""
    return _time_to_string(usecs, 1000000, 6)


def nsecs_to_string(nsecs: int) -> bytes:
    """``nsecs_to_string:string(nsecs:long)``: ``"%dm%d.%.9ds"``."""
    return _time_to_string(nsecs, 1000000000, 9)


def _number_to_string_postfix(x: int, y: int, p: bytes) -> bytes:
    if x < 10:
        return b"%d.%.2d%s" % (x, _cdiv(wrap(y * 100), 1024), p)
    if x < 100:
        return b"%2d.%d%s" % (x, _cdiv(wrap(y * 10), 1024), p)
    return b"%4d%s" % (x, p)


def bytes_to_string(nbytes: int) -> bytes:
    """``bytes_to_string:string(bytes:long)``: 5 characters, e.g. ``" 1023"``, ``"1.50K"``."""
    if nbytes < 1024:
        return b"%5d" % nbytes
    for suffix in (b"K", b"M"):
        remain = _cmod(nbytes, 1024)
        nbytes = _cdiv(nbytes, 1024)
        if nbytes < 1024:
            return _number_to_string_postfix(nbytes, remain, suffix)
    remain = _cmod(nbytes, 1024)
    nbytes = _cdiv(nbytes, 1024)
    return _number_to_string_postfix(nbytes, remain, b"G")


def mem_page_size() -> int:
    """``mem_page_size:long()``: PAGE_SIZE."""
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 4096


def pages_to_string(pages: int) -> bytes:
    """``pages_to_string:string(pages:long)``: ``bytes_to_string(pages * mem_page_size())``."""
    return bytes_to_string(wrap(pages * mem_page_size()))


# --------------------------------------------------------------------------------------
# Time: timestamp*.stp, ctime.stp, tzinfo.stp
# --------------------------------------------------------------------------------------


_hz: int | None = None


def _kernel_hz() -> int:
    """CONFIG_HZ of the running kernel (read once)."""
    global _hz
    if _hz is None:
        _hz = _read_kernel_hz()
    return _hz


def _read_kernel_hz() -> int:
    """CONFIG_HZ of the running kernel, from its config; 250 (Kconfig's default) if unknown."""
    import gzip
    import platform

    release = platform.release()
    for path in (f"/boot/config-{release}", "/proc/config.gz"):
        try:
            with open(path, "rb") as raw:
                data = raw.read()
            if path.endswith(".gz"):
                data = gzip.decompress(data)
        except (OSError, EOFError):
            continue
        for line in data.splitlines():
            if line.startswith(b"CONFIG_HZ="):
                try:
                    return int(line.split(b"=", 1)[1])
                except ValueError:
                    break
    return 250


def HZ() -> int:
    """``HZ:long()``: the kernel's HZ (read from the kernel config)."""
    return _kernel_hz()


def jiffies() -> int:
    """``jiffies:long()``: INITIAL_JIFFIES + HZ ticks per second of CLOCK_MONOTONIC.

    An emulation: jiffies is not readable from user space.
    """
    hz = _kernel_hz()
    initial = (-300 * hz) & _U32  # INITIAL_JIFFIES: (unsigned long)(unsigned int)(-300*HZ)
    return wrap(initial + time.monotonic_ns() * hz // 1_000_000_000)


def gettimeofday_ns() -> int:
    """``gettimeofday_ns:long()``: wall-clock time since the epoch (of the event, in a
    kernel-event handler)."""
    ev = EV
    return time.time_ns() if ev is None else _event_time_ns(ev)


def gettimeofday_us() -> int:
    """``gettimeofday_us:long()``."""
    return _cdiv(gettimeofday_ns(), 1000)


def gettimeofday_ms() -> int:
    """``gettimeofday_ms:long()``."""
    return _cdiv(gettimeofday_ns(), 1000000)


def gettimeofday_s() -> int:
    """``gettimeofday_s:long()``."""
    return _cdiv(gettimeofday_ns(), 1000000000)


def local_clock_ns() -> int:
    """``local_clock_ns:long()``: the kernel's ``local_clock()``, here CLOCK_MONOTONIC."""
    return time.monotonic_ns()


def local_clock_us() -> int:
    """``local_clock_us:long()``."""
    return _cdiv(local_clock_ns(), 1000)


def local_clock_ms() -> int:
    """``local_clock_ms:long()``."""
    return _cdiv(local_clock_ns(), 1000000)


def local_clock_s() -> int:
    """``local_clock_s:long()``."""
    return _cdiv(local_clock_ns(), 1000000000)


def _parse_cpu_list(text: str) -> frozenset[int]:
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(cpus)


_cpus: frozenset[int] | None = None


def _online_cpus() -> frozenset[int]:
    """The cpus online (read once)."""
    global _cpus
    if _cpus is None:
        try:
            with open("/sys/devices/system/cpu/online") as f:
                _cpus = _parse_cpu_list(f.read())
        except (OSError, ValueError):
            _cpus = frozenset(range(os.cpu_count() or 1))
    return _cpus


def cpu_clock_ns(cpu: int) -> int:
    """``cpu_clock_ns:long(cpu:long)``: ``cpu_clock(cpu)``, here CLOCK_MONOTONIC."""
    if cpu not in _online_cpus():
        raise ScriptError(f"cpu {cpu} is not online")
    return time.monotonic_ns()


def cpu_clock_us(cpu: int) -> int:
    """``cpu_clock_us:long(cpu:long)``."""
    return _cdiv(cpu_clock_ns(cpu), 1000)


def cpu_clock_ms(cpu: int) -> int:
    """``cpu_clock_ms:long(cpu:long)``."""
    return _cdiv(cpu_clock_ns(cpu), 1000000)


def cpu_clock_s(cpu: int) -> int:
    """``cpu_clock_s:long(cpu:long)``."""
    return _cdiv(cpu_clock_ns(cpu), 1000000000)


def ktime_get_ns() -> int:
    """``ktime_get_ns:long()``: CLOCK_MONOTONIC."""
    return time.monotonic_ns()


def get_cycles() -> int:
    """``get_cycles:long()``: the cycle counter; emulated by a nanosecond counter."""
    return time.perf_counter_ns()


_DAY_NAMES = (b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat")
_MONTH_NAMES = (
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun",
    b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
)  # fmt: skip


def ctime(epochsecs: int) -> bytes:
    """``ctime:string(epochsecs:long)``: ``Thu Jan  1 00:00:00 1970`` (UTC, 24 bytes)."""
    from datetime import date, timedelta

    if epochsecs > 2147483647:
        raise ScriptError("Time too far in the future to be converted")
    if epochsecs < -2147483648:
        raise ScriptError("Time too far in the past to be converted")
    days, rem = divmod(epochsecs, 86400)
    hour, rem = divmod(rem, 3600)
    minute, sec = divmod(rem, 60)
    day = date(1970, 1, 1) + timedelta(days=days)
    return b"%s %s%3d %.2d:%.2d:%.2d %d" % (
        _DAY_NAMES[(4 + days) % 7],
        _MONTH_NAMES[day.month - 1],
        day.day,
        hour,
        minute,
        sec,
        day.year,
    )


def ctime0() -> bytes:
    """``ctime:string()``: ``ctime(gettimeofday_s())``."""
    return ctime(gettimeofday_s())


def tz_gmtoff(state: TapsetState) -> int:
    """``tz_gmtoff()``: seconds *west* of UTC, as sent by staprun at start-up."""
    return state.tz_gmtoff


def tz_name(state: TapsetState) -> bytes:
    """``tz_name()``: the time zone abbreviation sent by staprun at start-up."""
    return state.tz_name


def tz_ctime(state: TapsetState, epochsecs: int) -> bytes:
    """``tz_ctime(epochsecs)``: ``ctime(epochsecs - tz_gmtoff()) . " " . tz_name()``."""
    return ctime(wrap(epochsecs - state.tz_gmtoff)) + b" " + state.tz_name


# --------------------------------------------------------------------------------------
# Context of the process running the script: context.stp, task.stp, loadavg.stp, ...
# --------------------------------------------------------------------------------------


def _read_file(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _comm(path: str) -> bytes | None:
    data = _read_file(path)
    return None if data is None else data.rstrip(b"\n")[:15]


def pid() -> int:
    """``pid:long()``: the process id (tgid)."""
    ev = EV
    return os.getpid() if ev is None else int(ev[3])


def tid() -> int:
    """``tid:long()``: the thread id."""
    ev = EV
    if ev is not None:
        return int(ev[2])
    import threading

    return threading.get_native_id()


def _proc_stat(pid: int) -> list[bytes] | None:
    """/proc/PID/stat after the command (state is [0], ppid [1]...); None when gone."""
    stat = _read_file(f"/proc/{pid}/stat")
    return None if stat is None else stat[stat.rfind(b")") + 2 :].split()


def _proc_status(pid: int, key: bytes) -> list[bytes] | None:
    """The fields of /proc/PID/status's ``key`` line; None when the task is gone."""
    data = _read_file(f"/proc/{pid}/status")
    if data is not None:
        for line in data.splitlines():
            if line.startswith(key):
                return line[len(key) :].split()
    return None


def _stat_field(pid: int, index: int) -> int:
    """Field ``index`` (after the command) of /proc/PID/stat; 0 when the task is gone."""
    fields = _proc_stat(pid)
    try:
        return 0 if fields is None else int(fields[index])
    except (IndexError, ValueError):
        return 0


def ppid() -> int:
    """``ppid:long()``."""
    ev = EV
    if ev is None:
        return os.getppid()
    v = _captured("ppid")
    return _stat_field(int(ev[3]), 1) if v is None else int(v)


def pgrp() -> int:
    """``pgrp:long()``: the process group id."""
    v = _captured("pgrp")
    if v is not None:
        return int(v)
    ev = EV
    if ev is not None:
        return _stat_field(int(ev[3]), 2)
    return os.getpgrp()


def sid() -> int:
    """``sid:long()``: the session id."""
    v = _captured("sid")
    if v is not None:
        return int(v)
    ev = EV
    if ev is not None:
        return _stat_field(int(ev[3]), 3)
    return os.getsid(0)


def uid() -> int:
    """``uid:long()``."""
    ev = EV
    return os.getuid() if ev is None else int(ev[4])


def _status_id(pid: int, key: bytes, index: int) -> int:
    """An id of /proc/PID/status (``Uid:``, ``Gid:``; 1 effective), -1 when gone."""
    fields = _proc_status(pid, key)
    return -1 if fields is None else int(fields[index])


def euid() -> int:
    """``euid:long()``."""
    ev = EV
    if ev is None:
        return os.geteuid()
    v = _captured("euid")
    return _status_id(int(ev[3]), b"Uid:", 1) if v is None else int(v)


def gid() -> int:
    """``gid:long()``."""
    ev = EV
    return os.getgid() if ev is None else int(ev[5])


def egid() -> int:
    """``egid:long()``."""
    v = _captured("egid")
    if v is not None:
        return int(v)
    ev = EV
    if ev is not None:
        return _status_id(int(ev[3]), b"Gid:", 1)
    return os.getegid()


def execname() -> bytes:
    """``execname:string()``: the thread's ``comm`` (at most 15 bytes)."""
    ev = EV
    if ev is not None:
        raw: bytes = ev[7]
        nul = raw.find(b"\0")
        return raw if nul < 0 else raw[:nul]
    comm = _comm("/proc/thread-self/comm")
    if comm is None:
        comm = os.path.basename(sys.executable).encode()[:15]
    return comm


def pexecname() -> bytes:
    """``pexecname:string()``: the parent process's ``comm``."""
    v = _captured("pcomm")
    if v is None:
        return _comm(f"/proc/{ppid()}/comm") or b""
    return bytes(v)


def pid2execname(pid: int) -> bytes:
    """``pid2execname:string(pid:long)``: ``comm`` of the task with that id, or ""."""
    if pid <= 0:
        return b""
    return _comm(f"/proc/{pid}/comm") or b""


def cpu() -> int:
    """``cpu:long()``: the cpu the thread last ran on."""
    ev = EV
    if ev is not None:
        return int(ev[1])
    stat = _read_file("/proc/thread-self/stat")
    if stat is not None:
        fields = stat[stat.rfind(b")") + 2 :].split()
        try:
            return int(fields[36])  # field 39, "processor"
        except (IndexError, ValueError):
            pass
    return 0


def stp_pid(state: TapsetState) -> int:
    """``stp_pid:long()``: the pid of the process that launched the script."""
    return state.stp_pid


def _user_string(block: bytes, pos: int, maxstringlen: int) -> bytes:
    """``user_string(addr, "")`` on a copy of user memory: up to MAXSTRINGLEN - 2 bytes."""
    chunk = block[pos : pos + max(maxstringlen - 2, 0)]
    nul = chunk.find(b"\0")
    return chunk if nul < 0 else chunk[:nul]


def _environ_block() -> bytes:
    block = _read_file("/proc/self/environ")
    if block is None:
        block = b"".join(k + b"=" + v + b"\0" for k, v in os.environb.items())
    return block


def env_var(state: TapsetState, name: bytes, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``env_var:string(name:string)``: the variable's value in the initial environment.

    As in stap, this walks the environment block with :func:`tokenize`, so it changes
    the tokenizer's state.
    """
    if not name:
        return b""
    block = _environ_block()
    pos = 0
    length = len(block)
    cur = _user_string(block, pos, maxstringlen)
    env_name = tokenize(state, cur, b"=")
    while env_name != name and length > 0:
        pos += len(cur) + 1
        length -= len(cur) + 1
        if length > 0:
            cur = _user_string(block, pos, maxstringlen)
            env_name = tokenize(state, cur, b"=")
        else:
            env_name = b""
    if length > 0:
        return tokenize(state, b"", b"")
    return b""


def _cmdline_block() -> bytes:
    ev = EV
    args = _captured("cmdline")
    if args is not None:
        return b"".join(a + b"\0" for a in args)
    block = _read_file("/proc/self/cmdline" if ev is None else f"/proc/{ev[3]}/cmdline")
    if block is None and ev is not None:
        return b""  # the task is gone
    if block is None:
        args = getattr(sys, "orig_argv", sys.argv)
        block = b"".join(os.fsencode(a) + b"\0" for a in args)
    return block


def cmdline_args(n: int, m: int, delim: bytes, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``cmdline_args:string(n:long, m:long, delim:string)``: arguments n..m (m < 0: all).

    An empty argument after the first is shown as ``""``.  As the code (not the manual)
    has it, ``0 <= m < n`` gives "".
    """
    block = _cmdline_block()
    if not block:
        return b""
    args = b""
    pos = 0
    nr = 0
    while pos < len(block) and (m < 0 or nr <= m):
        arg = _user_string(block, pos, maxstringlen)
        pos += len(arg) + 1
        if nr == n:
            args = arg
        elif nr > n:
            args += delim + (arg or b'""')
        nr += 1
    return args


def cmdline_arg(n: int, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``cmdline_arg:string(n:long)``: ``cmdline_args(n, n, "")``."""
    return cmdline_args(n, n, b"", maxstringlen=maxstringlen)


def cmdline_str(*, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``cmdline_str:string()``: ``cmdline_args(0, -1, " ")``."""
    return cmdline_args(0, -1, b" ", maxstringlen=maxstringlen)


def _loadavg_fields() -> list[bytes]:
    data = _read_file("/proc/loadavg")
    if data is not None:
        fields = data.split()[:3]
        if len(fields) == 3:
            return fields
    return [b"%.2f" % x for x in os.getloadavg()]


def get_loadavg_index(indx: int) -> int:
    """``get_loadavg_index:long(indx:long)``: integer part of the 1/5/15 min load average."""
    if indx < 0 or indx > 2:
        raise ScriptError(f"Invalid loadavg index {indx} specified.")
    return int(_loadavg_fields()[indx].split(b".")[0])


def sprint_loadavg() -> bytes:
    """``sprint_loadavg:string()``: ``"0.24 0.18 0.07\\n"``."""
    return b" ".join(_loadavg_fields()) + b"\n"


# --------------------------------------------------------------------------------------
# indent.stp, stopwatch.stp
# --------------------------------------------------------------------------------------


def _indent_depth(state: TapsetState, idx: int, delta: int) -> int:
    counter = state.indent_counters.get(idx, 0)
    x = wrap(counter + (delta if delta > 0 else 0))
    state.indent_counters[idx] = wrap(counter + delta)
    return x - 1 if x > 0 else 0


def _indent(state: TapsetState, idx: int, desc: bytes, delta: int, maxstringlen: int) -> bytes:
    ts = gettimeofday_us()
    if not state.indent_counters.get(idx, 0):
        state.indent_timestamps[idx] = ts
    depth = _indent_depth(state, idx, delta)
    elapsed = wrap(ts - state.indent_timestamps.get(idx, 0))
    return b"%6d %s:%s" % (elapsed, desc, b" " * min(depth, maxstringlen))


def indent(state: TapsetState, delta: int, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``indent:string(delta:long)``: ``"%6d :"`` (us since the outermost call) + depth."""
    return _indent(state, -1, b"", delta, maxstringlen)


def indent_depth(state: TapsetState, delta: int) -> int:
    """``indent_depth:long(delta:long)``."""
    return _indent_depth(state, -1, delta)


def thread_indent(state: TapsetState, delta: int, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``thread_indent:string(delta:long)``: ``"%6d execname(tid):"`` + depth spaces."""
    t = tid()
    return _indent(state, t, b"%s(%d)" % (execname(), t), delta, maxstringlen)


def thread_indent_depth(state: TapsetState, delta: int) -> int:
    """``thread_indent_depth:long(delta:long)``."""
    return _indent_depth(state, tid(), delta)


def start_stopwatch(state: TapsetState, name: bytes) -> None:
    """``start_stopwatch(name:string)``."""
    if state.stopwatch_start.get(name, 0) == 0:
        state.stopwatch_start[name] = gettimeofday_ns()
    state.stopwatch_acc.setdefault(name, 0)


def stop_stopwatch(state: TapsetState, name: bytes) -> None:
    """``stop_stopwatch(name:string)``."""
    stime = state.stopwatch_start.get(name, 0)
    delta = wrap(gettimeofday_ns() - stime) if stime != 0 else 0
    state.stopwatch_start[name] = 0
    state.stopwatch_acc[name] = wrap(state.stopwatch_acc.get(name, 0) + delta)


def delete_stopwatch(state: TapsetState, name: bytes) -> None:
    """``delete_stopwatch(name:string)``."""
    state.stopwatch_start.pop(name, None)
    state.stopwatch_acc.pop(name, None)


def read_stopwatch_ns(state: TapsetState, name: bytes) -> int:
    """``read_stopwatch_ns:long(name:string)``."""
    stime = state.stopwatch_start.get(name, 0)
    delta = wrap(gettimeofday_ns() - stime) if stime != 0 else 0
    acc = state.stopwatch_acc.setdefault(name, 0)
    return wrap(acc + delta)


def read_stopwatch_us(state: TapsetState, name: bytes) -> int:
    """``read_stopwatch_us:long(name:string)``."""
    return _cdiv(read_stopwatch_ns(state, name), 1000)


def read_stopwatch_ms(state: TapsetState, name: bytes) -> int:
    """``read_stopwatch_ms:long(name:string)``."""
    return _cdiv(read_stopwatch_ns(state, name), 1000000)


def read_stopwatch_s(state: TapsetState, name: bytes) -> int:
    """``read_stopwatch_s:long(name:string)``."""
    return _cdiv(read_stopwatch_ns(state, name), 1000000000)


# --------------------------------------------------------------------------------------
# The signature table, from signatures.py
# --------------------------------------------------------------------------------------

_TABLE_NAMES = frozenset(("FUNCTIONS", "OVERLOADS", "ArgType", "ReturnType", "Signature", "lookup"))


def __getattr__(name: str) -> object:
    """The signature table's names, imported from :mod:`signatures` on first use."""
    if name not in _TABLE_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import signatures

    value: object = getattr(signatures, name)
    globals()[name] = value  # later uses find it without calling this again
    return value


# --------------------------------------------------------------------------------------
# User memory: uconversions.stp.  In a kernel-event handler, the strings behind the
# event's ``char *`` fields were captured when it fired (events.py); other addresses are
# read from the task's memory while it lives (/proc/PID/mem).
# --------------------------------------------------------------------------------------


def _fault(what: str, rc: int, addr: int) -> ScriptError:
    return ScriptError(f"{what} copy fault {rc} at 0x{addr & _U64:x} [man error::fault]")


def _read_user(addr: int, n: int) -> bytes | None:
    ev = EV
    pid = os.getpid() if ev is None else int(ev[3])
    if addr <= 0:
        return None
    try:
        fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.pread(fd, n, addr)
    except (OSError, OverflowError):
        return None
    finally:
        os.close(fd)


def _user_cstring(addr: int, limit: int) -> bytes:
    """The NUL-terminated string at ``addr``, at most ``limit`` bytes; a fault raises
    stap's error."""
    x = _extra()
    if x is not None and x.strings is not None:
        captured = x.strings
        if addr in captured:
            text: bytes | None = captured[addr]
            if text is not None:
                return text[:limit]
            # the kernel could not read it without faulting a page in: the task may
            # still be there to read it from

    raw = _read_user(addr, limit)
    if raw is None or (not raw and limit):
        raise _fault("user string", -14, addr)
    nul = raw.find(b"\0")
    return raw if nul < 0 else raw[:nul]


def user_string_n(addr: int, n: int, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``user_string_n:string(addr:long, n:long)``: at most n bytes of the string."""
    return _user_cstring(addr, max(0, min(n, maxstringlen - 2)))


def user_string(addr: int, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``user_string:string(addr:long)``."""
    return _user_cstring(addr, maxstringlen - 2)


def user_string_err(addr: int, err: bytes, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``user_string:string(addr:long, err_msg:string)`` (and ``user_string2``)."""
    try:
        return _user_cstring(addr, maxstringlen - 2)
    except ScriptError:
        return err


def user_string_n_err(addr: int, n: int, err: bytes, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``user_string_n:string(addr:long, n:long, err_msg:string)`` (and ``_n2``)."""
    try:
        return _user_cstring(addr, max(0, min(n, maxstringlen - 2)))
    except ScriptError:
        return err


def user_string_nofault(addr: int, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``user_string_nofault:string(addr:long)``: "" when it cannot be read."""
    return user_string_err(addr, b"", maxstringlen=maxstringlen)


def user_string_quoted(addr: int, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``user_string_quoted:string(addr:long)``: quoted, or the address in hex."""
    try:
        text = _user_cstring(addr, maxstringlen - 2)
    except ScriptError:
        return b"0x%x" % (addr & _U64)
    return string_quoted(text)


def user_string_n_quoted(addr: int, n: int, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``user_string_n_quoted:string(addr:long, n:long)``: n input bytes at most,
    quoted; the output cut at MAXSTRINGLEN with ``"...``."""
    try:
        text = string_quoted(_user_cstring(addr, max(0, min(n, maxstringlen - 2))))
    except ScriptError:
        return b"0x%x" % (addr & _U64)
    if len(text) > maxstringlen - 2:
        text = text[: maxstringlen - 4] + b'"...'
    return text


def _user_number(addr: int, size: int, signed: bool, what: str) -> int:
    raw = _read_user(addr, size)
    if raw is None or len(raw) < size:
        raise _fault(what, -14, addr)
    return int.from_bytes(raw, "little", signed=signed)


def user_long(addr: int) -> int:
    """``user_long:long(addr:long)``."""
    return _user_number(addr, 8, True, "user long")


def user_int(addr: int) -> int:
    """``user_int:long(addr:long)``."""
    return _user_number(addr, 4, True, "user int")


def user_short(addr: int) -> int:
    """``user_short:long(addr:long)``."""
    return _user_number(addr, 2, True, "user short")


def user_char(addr: int) -> int:
    """``user_char:long(addr:long)``."""
    return _user_number(addr, 1, True, "user char")


# --------------------------------------------------------------------------------------
# Addresses: context.stp, context-symbols.stp.  In a perf (sampling) handler the event
# tuple goes on with the sampled ip, whether the task was in user mode, and the sample's
# address (runtime/events.py); elsewhere there is no probed address.
# --------------------------------------------------------------------------------------


def _sample() -> tuple[Any, ...] | None:
    x = _extra()
    return EV if x is not None and x.perf else None


def addr() -> int:
    """``addr:long()``: the address the sampled task was at (0 outside perf probes)."""
    ev = _sample()
    return 0 if ev is None else wrap(int(ev[8]))


def uaddr() -> int:
    """``uaddr:long()``: the user-space address the sampled task was at (0 when it was
    in the kernel, or outside perf probes)."""
    ev = _sample()
    return 0 if ev is None or not ev[9] else wrap(int(ev[8]))


def user_mode() -> int:
    """``user_mode:long()``: 1 when the sampled task was in user mode."""
    ev = _sample()
    return 0 if ev is None else int(ev[9])


def symname(address: int) -> bytes:
    """``symname:string(addr:long)``: the kernel function at ``addr``, else the address
    in hex."""
    from .symbols import kernel_symbol

    name = kernel_symbol(address)
    return b"0x%x" % (address & _U64) if name is None else name.encode()


def symdata(address: int) -> bytes:
    """``symdata:string(addr:long)``: the function, or the address in hex (no offsets:
    the python runtime knows no symbol sizes)."""
    return symname(address)


def probefunc() -> bytes:
    """``probefunc:string()``: in a perf handler, the kernel function the sampled task
    was in ("" in user mode); elsewhere ""."""
    ev = _sample()
    if ev is None or ev[9]:
        return b""
    from .symbols import kernel_symbol

    return (kernel_symbol(int(ev[8])) or "").encode()


# --------------------------------------------------------------------------------------
# ansi.stp: escape sequences, printed to the script's output (TapsetState.out)
# --------------------------------------------------------------------------------------


def _print(state: TapsetState, data: bytes) -> None:
    out = state.out
    if out is None:
        raise ScriptError("the session gave the tapset no output to print to")
    out(data)


def ansi_clear_screen(state: TapsetState) -> None:
    """``ansi_clear_screen()``: cursor to 1,1, screen cleared."""
    _print(state, b"\033[1;1H\033[J")


def ansi_set_color(state: TapsetState, fg: int) -> None:
    """``ansi_set_color(fg:long)``."""
    _print(state, b"\033[%dm" % fg)


def ansi_set_color2(state: TapsetState, fg: int, bg: int) -> None:
    """``ansi_set_color(fg:long, bg:long)`` (and ``ansi_set_color2``)."""
    _print(state, b"\033[%d;%dm" % (bg, fg))


def ansi_set_color3(state: TapsetState, fg: int, bg: int, attr: int) -> None:
    """``ansi_set_color(fg:long, bg:long, attr:long)`` (and ``ansi_set_color3``)."""
    attr_str = b";%dm" % attr if attr else b"m"
    _print(state, b"\033[%d;%d%s" % (bg, fg, attr_str))


def ansi_reset_color(state: TapsetState) -> None:
    """``ansi_reset_color()``: ``ansi_set_color(0, 0, 0)``."""
    ansi_set_color3(state, 0, 0, 0)


def ansi_new_line(state: TapsetState) -> None:
    """``ansi_new_line()``."""
    _print(state, b"\n")


def ansi_cursor_move(state: TapsetState, x: int, y: int) -> None:
    """``ansi_cursor_move(x:long, y:long)``."""
    _print(state, b"\033[%d;%dH" % (y, x))


def ansi_cursor_hide(state: TapsetState) -> None:
    """``ansi_cursor_hide()``."""
    _print(state, b"\033[>5I")


def ansi_cursor_save(state: TapsetState) -> None:
    """``ansi_cursor_save()``."""
    _print(state, b"\033[s")


def ansi_cursor_restore(state: TapsetState) -> None:
    """``ansi_cursor_restore()``."""
    _print(state, b"\033[u")


def ansi_cursor_show(state: TapsetState) -> None:
    """``ansi_cursor_show()``."""
    _print(state, b"\033[>5h")


# --------------------------------------------------------------------------------------
# conversions.stp on record strings.  A tracepoint's string field (``irq_handler.entry``'s
# ``dev_name``...) is a string in the python runtime where stap gives its kernel address
# for kernel_string() to read; these take that string.  On a number (a kernel address)
# they are not defined: the python runtime cannot read kernel memory.
# --------------------------------------------------------------------------------------


def kernel_string(s: bytes) -> bytes:
    """``kernel_string:string(addr)`` given the string a record field holds."""
    return s


def kernel_string_err(s: bytes, err: bytes) -> bytes:
    """``kernel_string:string(addr, err_msg)`` (and ``kernel_string2``) on a record string."""
    return s


def kernel_string_n(s: bytes, n: int) -> bytes:
    """``kernel_string_n:string(addr, n)`` on a record string: at most n bytes."""
    return s[: max(0, n)]


def kernel_string_quoted(s: bytes, *, maxstringlen: int = MAXSTRINGLEN) -> bytes:
    """``kernel_string_quoted:string(addr)`` on a record string."""
    return string_quoted(s, maxstringlen=maxstringlen)


# --------------------------------------------------------------------------------------
# uconversions.stp: fixed-size integers in user memory
# --------------------------------------------------------------------------------------


def user_ushort(addr: int) -> int:
    """``user_ushort:long(addr:long)``."""
    return _user_number(addr, 2, False, "user ushort")


def user_ulong(addr: int) -> int:
    """``user_ulong:long(addr:long)``."""
    return wrap(_user_number(addr, 8, False, "user ulong"))


def user_int8(addr: int) -> int:
    """``user_int8:long(addr:long)``."""
    return _user_number(addr, 1, True, "user int8_t")


def user_uint8(addr: int) -> int:
    """``user_uint8:long(addr:long)``."""
    return _user_number(addr, 1, False, "user uint8_t")


def user_int16(addr: int) -> int:
    """``user_int16:long(addr:long)``."""
    return _user_number(addr, 2, True, "user int16_t")


def user_uint16(addr: int) -> int:
    """``user_uint16:long(addr:long)``."""
    return _user_number(addr, 2, False, "user uint16_t")


def user_int32(addr: int) -> int:
    """``user_int32:long(addr:long)``."""
    return _user_number(addr, 4, True, "user int32_t")


def user_uint32(addr: int) -> int:
    """``user_uint32:long(addr:long)``."""
    return _user_number(addr, 4, False, "user uint32_t")


def user_int64(addr: int) -> int:
    """``user_int64:long(addr:long)``."""
    return _user_number(addr, 8, True, "user int64_t")


def user_uint64(addr: int) -> int:
    """``user_uint64:long(addr:long)`` (wrapped to a signed stap long, as in stap)."""
    return wrap(_user_number(addr, 8, False, "user uint64_t"))


# --------------------------------------------------------------------------------------
# task.stp, task_time.stp, proc_mem.stp, pstrace.stp: tasks by handle.
#
# stap's task functions take a ``struct task_struct *`` and read the kernel's structure;
# the python runtime cannot read kernel memory.  Instead task_current() and pid2task()
# return a *task handle*: TASK_HANDLE + the thread id (TASK_HANDLE + 0 is the idle task,
# pid 0, as init's parent is in the kernel), and the task_* functions answer for a handle
# from the kernel event being handled when it is the event's task (pid, uid, gid, comm,
# cpu, as captured when it fired) and otherwise from /proc/TID, read when the handler
# runs (the task may have changed, or gone: then a ScriptError says so, rather than
# a made-up value).  Any other number (a kernel address from a tracepoint's pointer
# field, 0) is refused with an error.  task_parent() gives the parent process's main
# thread (stap: the thread that forked).
# --------------------------------------------------------------------------------------

TASK_HANDLE = 0x7A5C_0000_0000_0000
"""task_current() is TASK_HANDLE + tid: positive, never 0, far from kernel addresses."""
_TASK_TID_LIMIT = 1 << 32


def _handle_tid(task: int, what: str) -> int:
    tid = task - TASK_HANDLE
    if 0 <= tid < _TASK_TID_LIMIT:
        return tid
    raise ScriptError(
        f"{what}: 0x{task & _U64:x} is not a task the python runtime knows (it cannot read "
        "a kernel task_struct; task_current() and pid2task() give tasks it can describe)"
    )


def _current_tid() -> int:
    ev = EV
    if ev is not None:
        return int(ev[2])
    import threading

    return threading.get_native_id()


def _event_task(tid: int) -> tuple[Any, ...] | None:
    """The event being handled, when its task is ``tid``."""
    ev = EV
    return ev if ev is not None and int(ev[2]) == tid else None


def _gone(tid: int, what: str) -> ScriptError:
    return ScriptError(f"{what}: task {tid} has exited (the python runtime reads it in /proc)")


def _task_status(tid: int, key: bytes, what: str) -> list[bytes]:
    """The fields of a /proc/TID/status line; a ScriptError when the task is gone."""
    fields = _proc_status(tid, key)
    if fields is None:
        raise _gone(tid, what)
    return fields


def _task_stat(tid: int, what: str) -> list[bytes]:
    """/proc/TID/stat after the command: state is [0], ppid [1]..."""
    fields = _proc_stat(tid)
    if fields is None:
        raise _gone(tid, what)
    return fields


def task_current() -> int:
    """``task_current:long()``: a handle of the current task (see above)."""
    return TASK_HANDLE + _current_tid()


def pid2task(pid: int) -> int:
    """``pid2task:long(pid:long)``: a handle of the task with that id, 0 if none."""
    if pid <= 0 or pid >= _TASK_TID_LIMIT:
        return 0
    if _event_task(pid) is None and not os.path.exists(f"/proc/{pid}/stat"):
        return 0
    return TASK_HANDLE + pid


def task_tid(task: int) -> int:
    """``task_tid:long(task:long)``: the task's thread id."""
    return _handle_tid(task, "task_tid")


def task_pid(task: int) -> int:
    """``task_pid:long(task:long)``: the task's process id (tgid)."""
    tid = _handle_tid(task, "task_pid")
    ev = _event_task(tid)
    if ev is not None:
        return int(ev[3])
    if tid == 0:
        return 0
    return int(_task_status(tid, b"Tgid:", "task_pid")[0])


def task_parent(task: int) -> int:
    """``task_parent:long(task:long)``: the parent process's (main thread's) handle."""
    tid = _handle_tid(task, "task_parent")
    if tid == 0:
        return task  # the idle task is its own parent
    if _event_task(tid) is not None:
        captured = _captured("ppid")  # read in the kernel with the event
        if captured is not None:
            return TASK_HANDLE + int(captured)
    return TASK_HANDLE + int(_task_status(tid, b"PPid:", "task_parent")[0])


def task_execname(task: int) -> bytes:
    """``task_execname:string(task:long)``: the task's comm."""
    tid = _handle_tid(task, "task_execname")
    ev = _event_task(tid)
    if ev is not None:
        raw: bytes = ev[7]
        nul = raw.find(b"\0")
        return raw if nul < 0 else raw[:nul]
    if tid == 0:
        return b"swapper/%d" % cpu()
    comm = _comm(f"/proc/{tid}/comm")
    if comm is None:
        raise ScriptError(f"task_execname: task {tid} has exited (read in /proc)")
    return comm


def _task_id(task: int, what: str, key: bytes, index: int, ev_index: int | None) -> int:
    tid = _handle_tid(task, what)
    ev = _event_task(tid)
    if ev is not None and ev_index is not None:
        return int(ev[ev_index])
    if tid == 0:
        return 0
    return int(_task_status(tid, key, what)[index])


def task_uid(task: int) -> int:
    """``task_uid:long(task:long)``: the task's real user id."""
    return _task_id(task, "task_uid", b"Uid:", 0, 4)


def task_euid(task: int) -> int:
    """``task_euid:long(task:long)``: the task's effective user id."""
    return _task_id(task, "task_euid", b"Uid:", 1, None)


def task_gid(task: int) -> int:
    """``task_gid:long(task:long)``: the task's real group id."""
    return _task_id(task, "task_gid", b"Gid:", 0, 5)


def task_egid(task: int) -> int:
    """``task_egid:long(task:long)``: the task's effective group id."""
    return _task_id(task, "task_egid", b"Gid:", 1, None)


def task_prio(task: int) -> int:
    """``task_prio:long(task:long)``: ``prio - MAX_RT_PRIO`` (/proc's priority field)."""
    tid = _handle_tid(task, "task_prio")
    return int(_task_stat(tid, "task_prio")[15])


def task_nice(task: int) -> int:
    """``task_nice:long(task:long)``: the task's nice value."""
    tid = _handle_tid(task, "task_nice")
    return int(_task_stat(tid, "task_nice")[16])


def task_cpu(task: int) -> int:
    """``task_cpu:long(task:long)``: the cpu the task is on (last ran on)."""
    tid = _handle_tid(task, "task_cpu")
    ev = _event_task(tid)
    if ev is not None:
        return int(ev[1])
    return int(_task_stat(tid, "task_cpu")[36])


def pstrace(task: int) -> bytes:
    """``pstrace:string(task:long)``: `` comm(pid)`` for the task and each parent up to
    (not including) init."""
    trace = b""
    while task_pid(task) > 1:
        trace += b" %s(%d)" % (task_execname(task), task_pid(task))
        task = task_parent(task)
    return trace


def _clock_ticks_ns(ticks: bytes) -> int:
    return int(ticks) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _task_times(tid: int) -> tuple[int, int]:
    """(utime, stime) of a thread in ns (clock-tick resolution), (0, 0) when gone."""
    stat = _read_file(f"/proc/{tid}/stat")
    if stat is None:
        return 0, 0
    fields = stat[stat.rfind(b")") + 2 :].split()
    return _clock_ticks_ns(fields[11]), _clock_ticks_ns(fields[12])


def task_utime() -> int:
    """``task_utime:long()``: the current thread's user time, ns (when the handler runs,
    to the clock tick)."""
    return _task_times(_current_tid())[0]


def task_utime_tid(tid: int) -> int:
    """``task_utime:long(tid:long)``: that thread's user time, ns; 0 if none."""
    return _task_times(tid)[0] if tid > 0 else 0


def task_stime() -> int:
    """``task_stime:long()``: the current thread's system time, ns (to the clock tick)."""
    return _task_times(_current_tid())[1]


def task_stime_tid(tid: int) -> int:
    """``task_stime:long(tid:long)``: that thread's system time, ns; 0 if none."""
    return _task_times(tid)[1] if tid > 0 else 0


def cputime_to_msecs(cputime: int) -> int:
    """``cputime_to_msecs:long(cputime:long)``: ns to ms."""
    return _cdiv(cputime, 1_000_000)


def _statm(pid: int) -> list[int] | None:
    """/proc/PID/statm: size resident shared text lib data dt, in pages."""
    data = _read_file(f"/proc/{pid}/statm")
    if not data:
        return None
    return [int(x) for x in data.split()]


def _current_pid() -> int:
    ev = EV
    return os.getpid() if ev is None else int(ev[3])


def _proc_mem(pid: int, index: int) -> int:
    statm = _statm(pid) if pid > 0 else None
    return 0 if statm is None else statm[index]


def proc_mem_size() -> int:
    """``proc_mem_size:long()``: the current process's virtual memory, pages."""
    return _proc_mem(_current_pid(), 0)


def proc_mem_size_pid(pid: int) -> int:
    """``proc_mem_size:long(pid:long)``: 0 when there is no such process."""
    return _proc_mem(pid, 0)


def proc_mem_rss() -> int:
    """``proc_mem_rss:long()``: resident pages of the current process."""
    return _proc_mem(_current_pid(), 1)


def proc_mem_rss_pid(pid: int) -> int:
    """``proc_mem_rss:long(pid:long)``."""
    return _proc_mem(pid, 1)


def proc_mem_shr() -> int:
    """``proc_mem_shr:long()``: shared (file and shmem) resident pages."""
    return _proc_mem(_current_pid(), 2)


def proc_mem_shr_pid(pid: int) -> int:
    """``proc_mem_shr:long(pid:long)``."""
    return _proc_mem(pid, 2)


def proc_mem_txt() -> int:
    """``proc_mem_txt:long()``: pages of code."""
    return _proc_mem(_current_pid(), 3)


def proc_mem_txt_pid(pid: int) -> int:
    """``proc_mem_txt:long(pid:long)``."""
    return _proc_mem(pid, 3)


def proc_mem_data() -> int:
    """``proc_mem_data:long()``: pages of data and stack."""
    return _proc_mem(_current_pid(), 5)


def proc_mem_data_pid(pid: int) -> int:
    """``proc_mem_data:long(pid:long)``."""
    return _proc_mem(pid, 5)


def _proc_mem_string(pid: int) -> bytes:
    statm = (_statm(pid) if pid > 0 else None) or [0] * 7
    size, rss, shr, txt, _lib, data = statm[:6]
    return b"size: %s, rss: %s, shr: %s, txt: %s, data: %s" % (
        pages_to_string(size),
        pages_to_string(rss),
        pages_to_string(shr),
        pages_to_string(txt),
        pages_to_string(data),
    )


def proc_mem_string() -> bytes:
    """``proc_mem_string:string()``: the current process's memory, human readable."""
    return _proc_mem_string(_current_pid())


def proc_mem_string_pid(pid: int) -> bytes:
    """``proc_mem_string:string(pid:long)``."""
    return _proc_mem_string(pid)

"""SystemTap statistics aggregates (``s <<< v``), their extractors and histograms.

Behaves as SystemTap 4.8's kernel runtime does (``runtime/stat-common.c``,
``stat.c``, ``map.c``, ``vsprintf.c``) running on a single CPU:

* ``@count``/``@sum`` of an empty aggregate are 0; ``@min``/``@max``/``@avg``/
  ``@variance``, printing a histogram and indexing one raise
  ``ScriptError("empty aggregate")`` (the messages the translator emits).
* ``@avg`` is ``sum / count`` with C's truncating division.
* ``@variance`` is stap's integer Welford algorithm, including its quirks: values
  are scaled by ``<< bit_shift`` at ``<<<`` time, the running difference is held in
  a C ``int`` (32 bits), every division truncates.  A scalar global then recombines
  the per-CPU data with the "total variance" formula (``_stp_stat_get``); an element
  of a stat array copies the per-CPU variance instead (``_new_map_copy_stat``), so
  the two can differ for the same values: pass ``keyed=True`` for array elements.
* Histograms are printed byte for byte as ``_stp_stat_print_histogram`` does, and
  with ``maxlen`` as ``sprint()`` does, which formats into a ``MAXSTRINGLEN``
  buffer through ``_stp_vsnprintf`` (whose field widths are clamped to the room
  left, so a cut histogram is not simply a prefix of the printed one).

The bucket layout is fixed when the aggregate is created, as the translator knows
which histogram (at most one) a variable uses: give it as a `HistSpec`.

What the 4.8 translator generates around these (``stap -p3``): ``print`` and
``println`` of a histogram print the same text (no extra newline), ``sprint`` and
``sprintln`` return the same string; ``foreach (b in @hist_log(s))`` visits every
bucket index (see `Stat.hist_buckets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

# HIST_ELISION and StatInitError are defined in base, for the modules that need them
# without importing this one; they are part of this module's interface all the same.
from stapserver.runtime.base import (
    HIST_ELISION,
    INT64_MAX,
    INT64_MIN,
    ScriptError,
    StatInitError,
    wrap,
)

__all__ = [
    "EMPTY_AGGREGATE",
    "HIST_ELISION",
    "HIST_LOG_BUCKET0",
    "HIST_LOG_BUCKETS",
    "HIST_WIDTH",
    "INDEX_OUT_OF_RANGE",
    "MAXSTRINGLEN",
    "STP_MAX_BUCKETS",
    "HistSpec",
    "Stat",
    "StatInitError",
    "log_bucket",
    "log_bucket_value",
]

HIST_LOG_BUCKETS: Final = 128
"""Buckets of every log histogram (``stat.h``)."""
HIST_LOG_BUCKET0: Final = 64
"""The log-histogram bucket holding 0."""
STP_MAX_BUCKETS: Final = 128
"""Most buckets of a linear histogram, underflow and overflow included."""
HIST_WIDTH: Final = 50
"""Columns of ``@`` for the largest bucket."""
MAXSTRINGLEN: Final = 512
"""The string buffer ``sprint(@hist_*(...))`` formats into (64-bit default)."""

EMPTY_AGGREGATE: Final = "empty aggregate"
INDEX_OUT_OF_RANGE: Final = "histogram index out of range"
_MAX_BIT_SHIFT: Final = 62

_HIST_NONE: Final = 0
_HIST_LOG: Final = 1
_HIST_LINEAR: Final = 2


def _c_int(value: int) -> int:
    """``value`` converted to a 32-bit C ``int`` (wrapping)."""
    return ((value + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def _c_div(x: int, y: int) -> int:
    """C integer division (truncating toward zero); ``y`` is not 0."""
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def _div64(x: int, y: int) -> int:
    """``_stp_div64(NULL, x, y)``: 0 when dividing by 0, ``-x`` by -1."""
    if y == 0:
        return 0
    if y == -1:
        return wrap(-x)
    return _c_div(x, y)


def log_bucket(value: int) -> int:
    """The log-histogram bucket of ``value`` (``_stp_val_to_bucket``): 0..127."""
    bits = value.bit_length()
    return HIST_LOG_BUCKET0 + bits if value > 0 else HIST_LOG_BUCKET0 - bits


def log_bucket_value(bucket: int) -> int:
    """The label of log-histogram ``bucket`` (``_stp_bucket_to_val``)."""
    if bucket == HIST_LOG_BUCKET0:
        return 0
    if bucket < HIST_LOG_BUCKET0:
        return -(1 << (63 - bucket))
    return 1 << (bucket - HIST_LOG_BUCKET0 - 1)


def _needed_space(value: int) -> int:
    """Characters ``%lld`` takes for ``value`` (``needed_space``)."""
    return len(str(value))


@dataclass(frozen=True, slots=True)
class HistSpec:
    """The histogram kept by an aggregate: ``@hist_log`` or ``@hist_linear``.

    Build with `HistSpec.log()` or `HistSpec.linear()`.  As in stap, a linear
    histogram's ``start``, ``stop`` and ``interval`` are C ``int`` (the literals are
    read with ``va_arg(ap, int)``, so larger ones are cut to 32 bits) and it has
    ``(stop - start) / interval + 3`` buckets: ``[0]`` counts values below
    ``start``, ``[buckets-1]`` the overflow.
    """

    kind: Literal["log", "linear"]
    start: int = 0
    stop: int = 0
    interval: int = 0
    buckets: int = field(init=False)

    def __post_init__(self) -> None:
        if self.kind == "log":
            if (self.start, self.stop, self.interval) != (0, 0, 0):
                raise ValueError("a log histogram takes no start, stop or interval")
            buckets = HIST_LOG_BUCKETS
        elif self.kind == "linear":
            start, stop, interval = _c_int(self.start), _c_int(self.stop), _c_int(self.interval)
            object.__setattr__(self, "start", start)
            object.__setattr__(self, "stop", stop)
            object.__setattr__(self, "interval", interval)
            buckets = _calc_buckets(start, stop, interval)
        else:
            raise ValueError(f"unknown histogram kind {self.kind!r}")
        object.__setattr__(self, "buckets", buckets)

    @classmethod
    def log(cls) -> HistSpec:
        """``@hist_log``: 128 power-of-two buckets."""
        return cls("log")

    @classmethod
    def linear(cls, start: int, stop: int, interval: int) -> HistSpec:
        """``@hist_linear(s, start, stop, interval)``; raises `StatInitError` as stap's
        runtime refuses it (interval 0, or not 1..126 buckets besides under/overflow)."""
        return cls("linear", start, stop, interval)

    def matches_linear(self, start: int, stop: int, interval: int) -> bool:
        """Whether ``@hist_linear(s, start, stop, interval)`` names this histogram."""
        return self.kind == "linear" and (self.start, self.stop, self.interval) == (
            _c_int(start),
            _c_int(stop),
            _c_int(interval),
        )


def _calc_buckets(start: int, stop: int, interval: int) -> int:
    """``_stp_stat_calc_buckets`` in C ``int`` arithmetic."""
    if interval == 0:
        raise StatInitError("histogram: interval cannot be zero.")
    buckets = _c_int(_c_div(_c_int(stop - start), interval) + 3)
    if buckets > STP_MAX_BUCKETS or buckets < 3:
        raise StatInitError(
            "histogram: Number of buckets must be between 1 and "
            f"{STP_MAX_BUCKETS - 2}\n"
            "Number_of_buckets = (stop - start) / interval.\n"
            "Please adjust your start, stop, and interval values."
        )
    return buckets


class Stat:
    """One statistics aggregate: a global ``s`` or one element ``s[k]`` of a stat array.

    ``hist`` is the histogram the translator found used on the variable (or None),
    ``bit_shift`` the constant of its ``@variance(s, N)`` (0 when absent), ``keyed``
    True for an element of a stat array (it only changes ``@variance``).
    Memory is bounded: a few counters plus the histogram's buckets.
    """

    __slots__ = (
        "_avg_s",
        "_count",
        "_hdiv",
        "_hist",
        "_hkind",
        "_hlast",
        "_hstart",
        "_m2",
        "_max",
        "_min",
        "_shift",
        "_sum",
        "keyed",
        "spec",
    )

    def __init__(
        self, hist: HistSpec | None = None, *, bit_shift: int = 0, keyed: bool = False
    ) -> None:
        if not 0 <= bit_shift <= _MAX_BIT_SHIFT:
            raise ValueError(f"bit shift ({bit_shift}) out of range <0..{_MAX_BIT_SHIFT}>")
        self.spec = hist
        self.keyed = keyed
        self._shift = bit_shift
        self._count = 0
        self._sum = 0
        self._min = 0
        self._max = 0
        self._avg_s = 0  # Welford running mean, scaled by << bit_shift
        self._m2 = 0  # Welford sum of squared differences, scaled by << 2*bit_shift
        self._hstart = 0
        self._hdiv = 1
        self._hlast = 0
        if hist is None:
            self._hkind = _HIST_NONE
            self._hist: list[int] = []
        else:
            self._hist = [0] * hist.buckets
            self._hlast = hist.buckets - 1
            if hist.kind == "log":
                self._hkind = _HIST_LOG
            else:
                self._hkind = _HIST_LINEAR
                self._hstart = hist.start
                self._hdiv = hist.interval & 0xFFFFFFFF  # do_div()'s uint32_t divisor

    @property
    def bit_shift(self) -> int:
        return self._shift

    # -- s <<< v ---------------------------------------------------------------

    def add(self, v: int) -> None:
        """``s <<< v`` (``__stp_stat_add``); ``v`` is a signed 64-bit long."""
        n = self._count
        sh = self._shift
        if n:
            n += 1
            self._count = n
            s = self._sum + v
            if s > INT64_MAX or s < INT64_MIN:
                s = wrap(s)
            self._sum = s
            if v > self._max:
                self._max = v
            elif v < self._min:
                self._min = v
            # Welford; `delta` is a C int in stat-common.c, hence the 32-bit cut.
            vs = v << sh
            if vs > INT64_MAX or vs < INT64_MIN:
                vs = wrap(vs)
            avg = self._avg_s
            d = ((vs - avg + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            avg += d // n if d >= 0 else -(-d // n)
            if avg > INT64_MAX or avg < INT64_MIN:
                avg = wrap(avg)
            self._avg_s = avg
            m = self._m2 + d * wrap(vs - avg)
            self._m2 = m if INT64_MIN <= m <= INT64_MAX else wrap(m)
        else:
            self._count = 1
            self._sum = self._min = self._max = v
            self._avg_s = wrap(v << sh)
            self._m2 = 0
        k = self._hkind
        if k == _HIST_LOG:
            b = v.bit_length()
            self._hist[64 + b if v > 0 else 64 - b] += 1
        elif k == _HIST_LINEAR:
            x = v - self._hstart
            if x > INT64_MAX or x < INT64_MIN:
                x = wrap(x)
            if x < 0:
                self._hist[0] += 1
            else:
                b = x // self._hdiv + 1
                last = self._hlast
                if b >= last:
                    # `val++` wraps INT64_MAX to INT64_MIN (interval 1), which fails
                    # the overflow test and lands, as a pointer offset, on [0].
                    b = last if b <= INT64_MAX else 0
                self._hist[b] += 1

    def clear(self) -> None:
        """``delete s``: back to an empty aggregate (``_stp_stat_clear``)."""
        self._count = self._sum = self._min = self._max = 0
        self._avg_s = self._m2 = 0
        for i in range(len(self._hist)):
            self._hist[i] = 0

    # -- extractors ------------------------------------------------------------

    def count(self) -> int:
        """``@count(s)``; 0 when empty."""
        return self._count

    def sum(self) -> int:
        """``@sum(s)``; 0 when empty."""
        return self._sum

    def min(self) -> int:
        """``@min(s)``."""
        if not self._count:
            raise ScriptError(EMPTY_AGGREGATE)
        return self._min

    def max(self) -> int:
        """``@max(s)``."""
        if not self._count:
            raise ScriptError(EMPTY_AGGREGATE)
        return self._max

    def avg(self) -> int:
        """``@avg(s)``: ``_stp_div64(sum, count)``."""
        if not self._count:
            raise ScriptError(EMPTY_AGGREGATE)
        return _div64(self._sum, self._count)

    def variance(self, bit_shift: int | None = None) -> int:
        """``@variance(s)`` / ``@variance(s, bit_shift)``.

        The shift works at ``<<<`` time, so it must be the one given to the
        constructor (stap rejects two different ones in pass 2); passing it here
        only checks that.
        """
        if bit_shift is not None and bit_shift != self._shift:
            raise ValueError(f"conflicting bit shifts declared (previously {self._shift})")
        n = self._count
        if not n:
            raise ScriptError(EMPTY_AGGREGATE)
        sh = self._shift
        # The per-CPU variance_s: the last value __stp_stat_add stored (0 until 2 values).
        var_s = _div64(self._m2, n - 1) if n >= 2 else 0
        if not self.keyed:
            # _stp_stat_get: total variance over the CPUs that saw values (here one).
            agg_avg_s = _div64(wrap(self._sum << sh), n)
            diff = wrap(self._avg_s - agg_avg_s)
            s1 = wrap(wrap(n * diff) * diff)
            s2 = wrap((n - 1) * var_s)
            var_s = _div64(wrap(s1 + s2), n - 1)
        # `>> (2 * shift)` on an int64_t: x86-64 masks the count to 6 bits.
        return var_s >> ((2 * sh) & 63)

    # -- histograms --------------------------------------------------------------

    @property
    def nbuckets(self) -> int:
        """Buckets of the histogram (``hist.buckets``); 0 without one."""
        return len(self._hist)

    def hist_buckets(self) -> list[int]:
        """A copy of the bucket counts, for ``foreach (b in @hist_*(s))``.

        stap 4.8 iterates ``b`` over every bucket index ``0 .. buckets-1`` in order
        (zero buckets included, a sort mark ignored, no empty-aggregate check), and
        ``@hist_*(s)[b]`` inside that loop reads the count directly.
        """
        return list(self._hist)

    def hist_bucket(self, index: int) -> int:
        """``@hist_log(s)[index]`` / ``@hist_linear(s, ...)[index]`` outside a foreach."""
        if not self._count:
            raise ScriptError(EMPTY_AGGREGATE)
        if 0 <= index < len(self._hist):
            return self._hist[index]
        raise ScriptError(INDEX_OUT_OF_RANGE)

    def hist_log(self, maxlen: int | None = None, elision: int = HIST_ELISION) -> bytes:
        """What ``print(@hist_log(s))`` prints; with ``maxlen`` (`MAXSTRINGLEN`),
        the string ``sprint(@hist_log(s))`` returns."""
        spec = self.spec
        if spec is None or spec.kind != "log":
            raise ValueError("this aggregate keeps no log histogram")
        return self._print_hist(spec, maxlen, elision)

    def hist_linear(
        self,
        start: int,
        stop: int,
        interval: int,
        maxlen: int | None = None,
        elision: int = HIST_ELISION,
    ) -> bytes:
        """What ``print(@hist_linear(s, start, stop, interval))`` prints; with
        ``maxlen``, what ``sprint()`` of it returns."""
        spec = self.spec
        if spec is None or not spec.matches_linear(start, stop, interval):
            raise ValueError(
                f"this aggregate keeps no linear histogram ({start}, {stop}, {interval})"
            )
        return self._print_hist(spec, maxlen, elision)

    def _print_hist(self, spec: HistSpec, maxlen: int | None, elision: int) -> bytes:
        """``elision`` is ``-D HIST_ELISION``: zero rows kept around non-zero ones; a
        negative value elides nothing."""
        if not self._count:
            raise ScriptError(EMPTY_AGGREGATE)
        calls = _histogram_calls(spec, self._hist, elision)
        if maxlen is None:
            return b"".join(_render(call) for call in calls)
        return _render_bounded(calls, maxlen)


# -- _stp_stat_print_histogram_buf ------------------------------------------------

# One HIST_PRINTF() call: literal bytes, ("s", width, text) for "%*s" and
# ("d", width, number) for "%*lld" / "%lld" (width None).
_Piece = bytes | tuple[Literal["s"], int, bytes] | tuple[Literal["d"], int | None, int]
_Call = tuple[_Piece, ...]

_DASH: Final[_Call] = (b"-",)
_AT: Final[_Call] = (b"@",)


def _histogram_calls(spec: HistSpec, hist: list[int], elision: int = HIST_ELISION) -> list[_Call]:
    """The sequence of HIST_PRINTF calls ``_stp_stat_print_histogram_buf`` makes."""
    nb = spec.buckets
    linear = spec.kind == "linear"
    low, high, valmax = -1, 0, 0
    for i, c in enumerate(hist):
        if c > 0:
            if low == -1:
                low = i
            high = i
            if c > valmax:
                valmax = c
    # Up to two zero rows of margin on each side (log: not below 0 unless negatives).
    for _ in range(2):
        if linear:
            if low > 0:
                low -= 1
        elif low != HIST_LOG_BUCKET0 and low > 0:
            low -= 1
        if high < nb - 1:
            high += 1
    under = over = 0
    if linear:
        if low == 0 and hist[0] == 0:
            low += 1
        if high == nb - 1 and hist[high] == 0:
            high -= 1
        under = int(low == 0)
        over = int(high == nb - 1)

    scale = 1 if valmax <= HIST_WIDTH else -(-valmax // HIST_WIDTH)
    cnt_space = _needed_space(valmax)
    if linear:
        start, interval = spec.start, spec.interval
        val_space = max(
            _needed_space(start) + under,
            _needed_space(_c_int(start + _c_int(interval * high))) + over,
        )
    else:
        val_space = max(_needed_space(log_bucket_value(high)), _needed_space(log_bucket_value(low)))
    val_space = max(val_space, 5)

    calls: list[_Call] = [(("s", val_space, b"value"), b" |")]
    calls.extend([_DASH] * HIST_WIDTH)
    calls.append((b" count\n",))

    max_elide = min(elision, nb)
    eliding = False
    for i in range(low, high + 1):
        if elision >= 0:
            lo = max(low, i - max_elide)
            hi = min(high, i + max_elide)
            if not any(hist[lo : hi + 1]):
                eliding = True
                continue
            if eliding:
                calls.append((("s", val_space, b""), b" ~\n"))
                eliding = False
        prefix = b""
        if linear:
            if i == 0:
                val = spec.start
                prefix = b"<"
            elif i == nb - 1:
                val = spec.start + (i - 2) * spec.interval
                prefix = b">"
            else:
                val = spec.start + (i - 1) * spec.interval
        else:
            val = log_bucket_value(i)
        calls.append((("s", val_space - _needed_space(val), prefix), ("d", None, val), b" |"))
        count = hist[i]
        v = count // scale
        calls.extend([_AT] * v)
        calls.append((("d", HIST_WIDTH - v + 1 + cnt_space, count), b"\n"))
    calls.append((b"\n",))
    return calls


def _render(call: _Call) -> bytes:
    """A HIST_PRINTF call printed to the output buffer (no size limit)."""
    out = []
    for piece in call:
        if isinstance(piece, bytes):
            out.append(piece)
        elif piece[0] == "s":
            swidth, text = piece[1], piece[2]
            out.append(text.rjust(swidth) if swidth >= 0 else text.ljust(-swidth))
        else:
            dwidth, num = piece[1], piece[2]
            digits = str(num).encode()
            if dwidth is not None:
                digits = digits.rjust(dwidth) if dwidth >= 0 else digits.ljust(-dwidth)
            out.append(digits)
    return b"".join(out)


def _render_bounded(calls: list[_Call], size: int) -> bytes:
    """The string the calls leave in a ``size``-byte buffer (``_stp_vsnprintf``).

    Each call gets the room left (``buf + size - cur_buf``), clamps its field widths
    to it, writes what fits and NUL-terminates; ``cur_buf`` then moves by the length
    the call reports (``%lld`` and literals count what did not fit, ``%s`` not).
    """
    buf = bytearray(size)
    end = size - 1

    def put(ch: int, at: int) -> None:
        if at <= end:
            buf[at] = ch

    cur = 0
    for call in calls:
        room = size - cur
        if room < 0:  # (int) size < 0: the call returns 0
            continue
        pos = cur
        for piece in call:
            if isinstance(piece, bytes):
                for ch in piece:
                    put(ch, pos)
                    pos += 1
                continue
            width = piece[1]
            left = width is not None and width < 0
            fw = -1 if width is None else min(abs(width), room)
            if piece[0] == "s":  # _stp_vsprint_memory: never writes past `end`
                text = piece[2]
                n = len(text)
                if not left:
                    while n < fw and pos <= end:
                        fw -= 1
                        buf[pos] = 0x20
                        pos += 1
                    fw -= 1
                i = 0
                while i < n and pos <= end:
                    buf[pos] = text[i]
                    pos += 1
                    i += 1
                while n < fw and pos <= end:
                    fw -= 1
                    buf[pos] = 0x20
                    pos += 1
            else:  # number(): counts every character, writes those that fit
                num = piece[2]
                digits = str(abs(num)).encode()
                pad = fw - len(digits) - (1 if num < 0 else 0)
                if not left:
                    for _ in range(pad):
                        put(0x20, pos)
                        pos += 1
                if num < 0:
                    put(0x2D, pos)
                    pos += 1
                for ch in digits:
                    put(ch, pos)
                    pos += 1
                if left:
                    for _ in range(pad):
                        put(0x20, pos)
                        pos += 1
        if pos <= end:
            buf[pos] = 0
        elif room > 0:
            buf[end] = 0
        cur = pos
    nul = buf.find(0)
    return bytes(buf if nul < 0 else buf[:nul])

"""The operations generated code calls: C arithmetic, arrays, statistics access,
sorting for ``foreach``, regular expressions.

Generated modules bind what they use to local names once (``_div = ops.div``), so these
are plain functions and small classes, each doing what SystemTap's C runtime does.
"""

from __future__ import annotations

from .base import HIST_ELISION, INT64_MAX, INT64_MIN, ActionLimitError, ScriptError, wrap

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterable
    from typing import Any

    from .stats import HistSpec, Stat

# Every generated module imports this one: re (for the modules with regular expressions)
# and stats (for those with aggregates) are imported where first needed.

__all__ = [
    "ActionLimitError",
    "Array",
    "ScriptError",
    "StatArray",
    "compile_regex",
    "div",
    "foreach_keys",
    "mod",
    "shl",
    "shr",
    "ushr",
    "wrap",
]

_MASK = (1 << 64) - 1
if TYPE_CHECKING:
    Key = Any  # int | bytes | tuple of them

ARRAY_OVERFLOW = "Array overflow, check MAXMAPENTRIES"


# ---------------------------------------------------------------------- arithmetic


def div(x: int, y: int, where: str) -> int:
    """``x / y`` as ``_stp_div64``: truncating, an error for 0, ``-x`` for -1."""
    if y == 0:
        raise ScriptError("division by 0", where)
    if y == -1:
        return wrap(-x)
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def mod(x: int, y: int, where: str) -> int:
    """``x % y`` as ``_stp_mod64``: the sign of ``x``, an error for 0."""
    if y == 0:
        raise ScriptError("division by 0", where)
    if y == 1 or y == -1:
        return 0
    r = abs(x) % abs(y)
    return r if x >= 0 else -r


def shl(x: int, n: int) -> int:
    return wrap(x << (n & 63))


def shr(x: int, n: int) -> int:
    return x >> (n & 63)


def ushr(x: int, n: int) -> int:
    return wrap((x & _MASK) >> (n & 63))


def neg(x: int) -> int:
    return -x if x != INT64_MIN else x


# ---------------------------------------------------------------------- arrays


def overflow_message(declared: bool, limit: int) -> str:
    """stap's message for a full array: its own size, or MAXMAPENTRIES."""
    return f"Array overflow, check size limit ({limit})" if declared else ARRAY_OVERFLOW


class Array(dict["Key", "Any"]):
    """A global array of longs or strings: a dict in SystemTap's map order (insertion
    order; a sorted ``foreach`` leaves it sorted), with its size limit and ``%``
    wrapping."""

    __slots__ = ("full", "limit", "name", "wrapping")

    def __init__(
        self, name: str, limit: int, wrapping: bool = False, declared: bool = False
    ) -> None:
        super().__init__()
        self.name = name
        self.limit = limit
        self.wrapping = wrapping
        self.full = overflow_message(declared, limit)

    def _make_room(self, where: str) -> None:
        if self.wrapping:
            del self[next(iter(self))]
        else:
            raise ScriptError(self.full, where)

    def set(self, key: Key, value: Any, where: str) -> Any:
        if key not in self and len(self) >= self.limit:
            self._make_room(where)
        self[key] = value
        return value

    def incr(self, key: Key, delta: int, where: str) -> int:
        """``a[k] += delta``; the new value."""
        value = wrap(self.get(key, 0) + delta)
        if key not in self and len(self) >= self.limit:
            self._make_room(where)
        self[key] = value
        return value


class StatArray(dict["Key", "Stat"]):
    """A global array of statistics."""

    __slots__ = ("bit_shift", "empty", "full", "hist", "limit", "name", "wrapping")

    def __init__(
        self,
        name: str,
        limit: int,
        wrapping: bool = False,
        hist: HistSpec | None = None,
        bit_shift: int = 0,
        declared: bool = False,
    ) -> None:
        from .stats import Stat

        super().__init__()
        self.name = name
        self.limit = limit
        self.wrapping = wrapping
        self.full = overflow_message(declared, limit)
        self.hist = hist
        self.bit_shift = bit_shift
        self.empty = Stat(hist, bit_shift=bit_shift, keyed=True)

    def add(self, key: Key, value: int, where: str) -> int:
        """``a[k] <<< value``."""
        stat = self.get(key)
        if stat is None:
            if len(self) >= self.limit:
                if not self.wrapping:
                    raise ScriptError(self.full, where)
                del self[next(iter(self))]
            from .stats import Stat

            stat = self[key] = Stat(self.hist, bit_shift=self.bit_shift, keyed=True)
        stat.add(value)
        return value

    def stat(self, key: Key) -> Stat:
        """The aggregate at ``key``, or an empty one (not stored)."""
        return self.get(key, self.empty)


def _slice_match(key: Key, pattern: tuple[Any, ...]) -> bool:
    if not isinstance(key, tuple):
        key = (key,)
    return all(p is None or p == k for p, k in zip(pattern, key, strict=True))


def slice_in(arr: dict[Key, Any], pattern: tuple[Any, ...]) -> int:
    """``[1, *] in a``."""
    return int(any(_slice_match(k, pattern) for k in arr))


def delete_slice(arr: dict[Key, Any], pattern: tuple[Any, ...]) -> None:
    """``delete a[1, *]``."""
    for k in [k for k in arr if _slice_match(k, pattern)]:
        del arr[k]


# ---------------------------------------------------------------------- foreach

_AGGREGATES: dict[str, Callable[[Stat], int]] = {
    "count": lambda s: s.count(),
    "sum": lambda s: s.sum(),
    "min": lambda s: s.min() if s.count() else 0,
    "max": lambda s: s.max() if s.count() else 0,
    "avg": lambda s: s.avg() if s.count() else 0,
    "variance": lambda s: s.variance() if s.count() > 1 else 0,
}


def foreach_keys(
    arr: dict[Key, Any],
    column: int,
    direction: int,
    aggregate: str | None,
    limit: int | None,
    pattern: tuple[Any, ...] | None = None,
) -> Iterable[Key]:
    """The keys a ``foreach`` visits, in order: a snapshot of the array.

    ``column`` 0 sorts by value (by ``aggregate`` for statistics, @count unless given),
    N by the Nth key; ``direction`` 1 ascending, -1 descending, 0 in map order.  As in
    SystemTap, sorting leaves the array itself in the sorted order.
    """
    if direction:
        if column == 0:
            if isinstance(arr, StatArray):
                get = _AGGREGATES[aggregate or "count"]

                def by_value(kv: tuple[Key, Any]) -> Any:
                    return get(kv[1])
            else:

                def by_value(kv: tuple[Key, Any]) -> Any:
                    return kv[1]

            items = sorted(arr.items(), key=by_value, reverse=direction < 0)
        else:
            idx = column - 1
            items = sorted(
                arr.items(),
                key=lambda kv: kv[0][idx] if isinstance(kv[0], tuple) else kv[0],
                reverse=direction < 0,
            )
        arr.clear()
        arr.update(items)
        keys: list[Key] = [k for k, _ in items]
    else:
        keys = list(arr)
    if pattern is not None:
        keys = [k for k in keys if _slice_match(k, pattern)]
    if limit is not None:
        keys = keys[: max(limit, 0)]
    return keys


# ---------------------------------------------------------------------- statistics


def stat_extract(stat: Stat, what: str, where: str, bit_shift: int = 0) -> int:
    """@min, @max, @avg, @variance: an error ("empty aggregate") on no data."""
    try:
        if what == "variance":
            return stat.variance(bit_shift)
        result: int = getattr(stat, what)()
        return result
    except ScriptError as err:
        raise err.at(where) from None


def hist_bucket(stat: Stat, index: int, where: str) -> int:
    try:
        return stat.hist_bucket(index)
    except ScriptError as err:
        raise err.at(where) from None


def hist_text(
    stat: Stat,
    kind: str,
    params: tuple[int, ...],
    where: str,
    maxlen: int | None = None,
    elision: int = HIST_ELISION,
) -> bytes:
    try:
        if kind == "log":
            return stat.hist_log(maxlen, elision)
        start, stop, interval = params
        return stat.hist_linear(start, stop, interval, maxlen, elision)
    except ScriptError as err:
        raise err.at(where) from None


# ---------------------------------------------------------------------- regex

_POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v",
    "blank": " \\t",
    "punct": "!-/:-@\\[-`{-~",
    "xdigit": "0-9A-Fa-f",
    "cntrl": "\\x00-\\x1f\\x7f",
    "print": " -~",
    "graph": "!-~",
}


def compile_regex(pattern: bytes) -> re.Pattern[bytes]:
    """A POSIX extended regular expression, as SystemTap's regex compiler accepts it,
    compiled for Python's ``re`` (bracket classes like ``[[:digit:]]`` translated)."""
    import re

    out = bytearray()
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i : i + 1]
        if c == b"\\" and i + 1 < n:
            out += pattern[i : i + 2]
            i += 2
            continue
        if c == b"[":
            j = i + 1
            out += b"["
            if j < n and pattern[j : j + 1] == b"^":
                out += b"^"
                j += 1
            if j < n and pattern[j : j + 1] == b"]":
                out += b"\\]"
                j += 1
            while j < n and pattern[j : j + 1] != b"]":
                if pattern[j : j + 2] == b"[:":
                    end = pattern.find(b":]", j + 2)
                    if end > 0:
                        name = pattern[j + 2 : end].decode("ascii", "replace")
                        if name in _POSIX_CLASSES:
                            out += _POSIX_CLASSES[name].encode()
                            j = end + 2
                            continue
                ch = pattern[j : j + 1]
                if ch in (b"\\", b"["):
                    out += b"\\"
                out += ch
                j += 1
            out += b"]"
            i = j + 1
            continue
        out += c
        i += 1
    return re.compile(bytes(out))


def clamp_long(value: int) -> int:
    return max(INT64_MIN, min(INT64_MAX, value))

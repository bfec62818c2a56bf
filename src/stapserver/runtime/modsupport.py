"""What a generated module imports besides :mod:`ops`: the shape of a built module
(:class:`Program`, :class:`ProbeEntry`) and the helpers its code calls."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import tapset
from .base import ScriptError
from .printf import parse_format
from .stats import HistSpec, Stat

__all__ = [
    "HistSpec",
    "ProbeEntry",
    "Program",
    "Stat",
    "call",
    "hist_keys",
    "show_array",
    "show_scalar",
    "stat_add",
    "tapset",
    "void",
]

Handler = Callable[[int], None]


@dataclass(frozen=True)
class ProbeEntry:
    kind: str  # begin end error never timer
    text: str  # what pp() returns
    origin: str  # the probe point as the script wrote it (pn())
    sequence: int
    interval_ns: int
    randomize_ns: int
    jiffies: int
    hz: int
    handler: Handler
    condition: Callable[[], Any] | None


@dataclass(frozen=True)
class Program:
    probes: list[ProbeEntry]
    display: Callable[[], None]


def call(fn: Callable[..., Any], where: str, *args: Any) -> Any:
    """A tapset function that can fail, its error located at the call."""
    try:
        return fn(*args)
    except ScriptError as err:
        raise err.at(where) from None


def stat_add(stat: Stat, value: int) -> int:
    stat.add(value)
    return value


def void(_: object) -> int:
    return 0


def hist_keys(stat: Stat, limit: int | None) -> Iterable[int]:
    n = stat.nbuckets
    return range(n if limit is None else max(0, min(n, limit)))


# ---------------------------------------------------------------------- end of run

_LONG = parse_format(b"%s=%d\n")
_STRING = parse_format(b'%s="%s"\n')
_STATS = parse_format(b"%s @count=%d @min=%d @max=%d @sum=%d @avg=%d\n")


def show_scalar(out: Callable[[bytes], None], name: str, value: Any, kind: str) -> None:
    """Print a global that was written and never read, as stap does at the end."""
    bname = name.encode()
    if kind == "stats":
        out(_stat_line(bname, value))
    elif kind == "string":
        out(_STRING.render((bname, value)))
    else:
        out(_LONG.render((bname, value)))


def _stat_line(prefix: bytes, stat: Stat) -> bytes:
    if stat.count() == 0:
        return prefix + b" @count=0x0\n"
    return _STATS.render((prefix, stat.count(), stat.min(), stat.max(), stat.sum(), stat.avg()))


def _key_text(key: Any, kinds: tuple[str, ...]) -> bytes:
    keys = key if isinstance(key, tuple) else (key,)
    parts = []
    for k, kind in zip(keys, kinds, strict=True):
        parts.append(b'"' + k + b'"' if kind == "string" else b"%d" % k)
    return b",".join(parts)


def show_array(
    out: Callable[[bytes], None], name: str, arr: Any, kinds: tuple[str, ...], kind: str
) -> None:
    from .ops import foreach_keys

    bname = name.encode()
    for key in foreach_keys(arr, 0, -1, None, None):
        prefix = bname + b"[" + _key_text(key, kinds) + b"]"
        if kind == "stats":
            out(_stat_line(prefix, arr.stat(key)))
        elif kind == "string":
            out(prefix + b'="' + arr[key] + b'"\n')
        else:
            out(prefix + b"=%d\n" % arr[key])

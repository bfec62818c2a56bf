"""What a generated module imports besides :mod:`ops`: the shape of a built module
(:class:`Program`, :class:`ProbeEntry`) and the helpers its code calls."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import tapset
from .base import ScriptError
from .stats import HistSpec, Stat

__all__ = [
    "HistSpec",
    "NextOverload",
    "ProbeEntry",
    "Program",
    "Stat",
    "call",
    "hist_keys",
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


class NextOverload(Exception):
    """``next`` in a function: the call goes on to the function's next definition."""


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

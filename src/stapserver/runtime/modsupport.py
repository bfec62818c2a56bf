"""What a generated module imports besides :mod:`ops`: the shape of a built module
(:class:`Program`, :class:`ProbeEntry`) and the helpers its code calls.

``tapset``, ``Stat`` and ``HistSpec`` are imported on a module's first use of them
(``_rt.tapset.execname``, ``_rt.Stat(...)``), so that a module calling no tapset
function and keeping no aggregate does not pay for importing them.
"""

from __future__ import annotations

from .base import ScriptError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from . import sysfmt, tapset
    from .stats import HistSpec, Stat

__all__ = [
    "HistSpec",
    "NextOverload",
    "ProbeEntry",
    "Program",
    "Stat",
    "call",
    "event_name",
    "event_parms",
    "hist_keys",
    "stat_add",
    "sysfmt",
    "tapset",
    "void",
]

if TYPE_CHECKING:
    Handler = Callable[[int], None]


def __getattr__(name: str) -> object:
    """The lazily imported names: ``tapset``, ``Stat``, ``HistSpec``."""
    value: object
    if name == "tapset":
        from . import tapset as value
    elif name == "sysfmt":
        from . import sysfmt as value
    elif name == "Stat" or name == "HistSpec":
        from . import stats

        value = getattr(stats, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later uses find it without calling this again
    return value


class ProbeEntry:
    """One probe of a built module, as the engine runs it."""

    __slots__ = (
        "condition",
        "event",
        "fields",
        "filters",
        "handler",
        "hz",
        "interval_ns",
        "jiffies",
        "kind",
        "origin",
        "perf",
        "randomize_ns",
        "sequence",
        "text",
    )

    def __init__(
        self,
        kind: str,  # begin end error never timer
        text: str,  # what pp() returns
        origin: str,  # the probe point as the script wrote it (pn())
        sequence: int,
        interval_ns: int,
        randomize_ns: int,
        jiffies: int,
        hz: int,
        handler: Handler,
        condition: Callable[[], Any] | None,
        event: str | None = None,  # trace: "group:name" of the kernel tracepoint
        fields: tuple[tuple[str, str], ...] = (),  # trace: (name, kind) of fields read
        filters: tuple[tuple[Any, ...], ...] = (),  # trace: what the kernel may test
        perf: tuple[int, int, int, int] | None = None,  # perf: type, config, period, freq
    ) -> None:
        self.kind = kind
        self.text = text
        self.origin = origin
        self.sequence = sequence
        self.interval_ns = interval_ns
        self.randomize_ns = randomize_ns
        self.jiffies = jiffies
        self.hz = hz
        self.handler = handler
        self.condition = condition
        self.event = event
        self.fields = fields
        self.filters = filters
        self.perf = perf


class Program:
    """What a module's ``build(S)`` returns."""

    __slots__ = ("probes",)

    def __init__(self, probes: list[ProbeEntry]) -> None:
        self.probes = probes


class NextOverload(Exception):
    """``next`` in a function: the call goes on to the function's next definition."""


def call(fn: Callable[..., Any], where: str, *args: Any) -> Any:
    """A tapset function that can fail, its error located at the call."""
    try:
        return fn(*args)
    except ScriptError as err:
        raise err.at(where) from None


def event_name(ev: tuple[Any, ...]) -> bytes:
    """``$$name`` in a kernel.trace handler: the event's name."""
    from . import events

    return events.event_name(ev)


def event_parms(ev: tuple[Any, ...]) -> bytes:
    """``$$parms`` / ``$$vars`` in a kernel.trace handler: ``name=value`` for each field."""
    from . import events

    return events.event_parms(ev)


def stat_add(stat: Stat, value: int) -> int:
    stat.add(value)
    return value


def void(_: object) -> int:
    return 0


def hist_keys(stat: Stat, limit: int | None) -> Iterable[int]:
    n = stat.nbuckets
    return range(n if limit is None else max(0, min(n, limit)))

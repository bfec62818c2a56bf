"""The functions a script may call without defining them, for the python runtime.

Two kinds: the translator's own (``exit``, ``error``, ``target``, ``pp``...: they act on
the running session, so the code generator emits them inline), and the tapset functions
of :mod:`stapserver.runtime.tapset` (pure functions over values and the process context).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..runtime import tapset
from .ast import LONG, STRING, UNKNOWN


@dataclass(frozen=True)
class Builtin:
    name: str
    ret: str  # long, string, or unknown for "returns nothing"
    args: tuple[str, ...]
    special: bool  # generated inline by the code generator


_SPECIAL: list[Builtin] = [
    Builtin("exit", UNKNOWN, (), True),
    Builtin("abort", UNKNOWN, (), True),
    Builtin("error", UNKNOWN, (STRING,), True),
    Builtin("warn", UNKNOWN, (STRING,), True),
    Builtin("log", UNKNOWN, (STRING,), True),
    Builtin("assert", UNKNOWN, (LONG,), True),
    Builtin("assert", UNKNOWN, (LONG, STRING), True),
    Builtin("target", LONG, (), True),
    Builtin("pp", STRING, (), True),
    Builtin("pn", STRING, (), True),
    Builtin("ppfunc", STRING, (), True),
    Builtin("probefunc", STRING, (), True),
    Builtin("matched", STRING, (LONG,), True),
    Builtin("matched_str", STRING, (), True),
    Builtin("ngroups", LONG, (), True),
]


def _table() -> dict[str, list[Builtin]]:
    table: dict[str, list[Builtin]] = {}
    for b in _SPECIAL:
        table.setdefault(b.name, []).append(b)
    for name, sigs in tapset.OVERLOADS.items():
        if name in table:
            continue
        for sig in sigs:
            ret = sig.returns if sig.returns in (LONG, STRING) else UNKNOWN
            table.setdefault(name, []).append(Builtin(name, ret, tuple(sig.args), False))
    return table


BUILTINS: dict[str, list[Builtin]] = _table()


def lookup(name: str, nargs: int) -> Builtin | None:
    for b in BUILTINS.get(name, ()):
        if len(b.args) == nargs:
            return b
    return None


def known(name: str) -> bool:
    return name in BUILTINS

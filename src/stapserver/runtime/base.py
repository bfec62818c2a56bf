"""Value conventions and the run-time errors shared by the whole runtime.

Cheap to import (nothing but itself), as the engine and every generated module need it;
:mod:`stats` defines its constants and :class:`StatInitError` here for the engine and
:mod:`ops`, so that a module without aggregates never imports :mod:`stats`.
"""

from __future__ import annotations

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
HIST_ELISION = 2
"""Zero rows kept on either side of a non-zero one; longer runs print as ``~``."""
_MASK = (1 << 64) - 1
_BIAS = 1 << 63


def wrap(value: int) -> int:
    """Reduce ``value`` to a signed 64-bit integer, wrapping around as C does."""
    if INT64_MIN <= value <= INT64_MAX:
        return value
    return ((value + _BIAS) & _MASK) - _BIAS


def unsigned(value: int) -> int:
    """The unsigned 64-bit reading of a signed 64-bit ``value``."""
    return value & _MASK


class ScriptError(Exception):
    catchable = True  # try/catch in a script catches it

    """A run-time error in a probe handler: what stap reports as ``ERROR: <message>``.

    ``message`` is stap's text (``division by 0``); the generated code adds where it
    happened (``near operator '/' at <input>:1:26``) when it catches the error.
    """

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def at(self, where: str) -> ScriptError:
        """This error, located at ``where`` unless it already says where it happened."""
        if not self.where:
            self.where = where
        return self

    def __str__(self) -> str:
        return f"{self.message} near {self.where}" if self.where else self.message


class ActionLimitError(ScriptError):
    """MAXACTION exceeded: an error no try/catch can catch."""

    catchable = False


class StatInitError(Exception):
    """A histogram stap's runtime refuses when the module starts.

    ``_stp_stat_calc_buckets`` rejects it with ``_stp_warn(message)`` (shown as
    ``WARNING: <message>``), the allocation returns NULL and module init fails
    with -ENOMEM, so no probe ever runs.  Stap 4.8 has no pass-2 check for this.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

"""The project's exceptions.

Every error a user can cause is one of these.  Each carries the complete user-facing
message (possibly several lines, as stap prints parse errors with their source line and
caret); the CLI layer alone prints it to stderr and turns it into an exit status.
"""

from __future__ import annotations


class StapError(Exception):
    """Base of every user-facing error: ``str(err)`` is what the user reads."""

    exit_status = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(StapError):
    """A bad command line: unknown option, missing argument, malformed value."""


class InputError(StapError):
    """An input that cannot be read: a missing script file, an unreadable module."""


class ParseError(StapError):
    """Pass 1 failed: one or more syntax errors, already formatted as stap does."""


class SemanticError(StapError):
    """Pass 2 failed: one or more semantic errors, already formatted as stap does."""


class TranslateError(StapError):
    """Pass 3 or 4 failed."""


class ModuleError(StapError):
    """A module file cannot be loaded for pass 5 (wrong format, wrong runtime version)."""


class ProtocolError(StapError):
    """A request or response that breaks the compile-server protocol or its limits."""


class TrustError(StapError):
    """A certificate, signature or certificate database that cannot be trusted."""


class NetworkError(StapError):
    """A server that cannot be reached, or a connection that fails."""


class ServerError(StapError):
    """A compile server that cannot start, stop or serve."""

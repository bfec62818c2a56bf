"""What every command does with a library error and with its standard output.

Errors: a :class:`StapError` is one message on stderr and its exit status; anything else
is a bug of ours, one line too (``STAPSERVER_DEBUG=1`` shows the traceback).

Output errors, as GNU tools have them:

* The reader went away (EPIPE: ``pystap ... | head -1``): the command ends quietly,
  killed by SIGPIPE as a C program would be (Python ignores SIGPIPE, so its default
  action is restored and the signal raised): a shell shows status 141 (128 + SIGPIPE).
  Nothing is printed, no traceback, no "Exception ignored".
* Any other failed write (ENOSPC on ``> /dev/full``, EBADF on a closed stdout ``>&-``,
  EIO...): one line ``PROG: write error: No space left on device``, exit status 1.

For this the command's ``sys.stdout`` writes through :class:`_Stdout`, which remembers
the first failed write and from then on sends what is left to /dev/null (``dup2`` onto
descriptor 1, as CPython's documentation on SIGPIPE suggests): neither a later flush nor
the interpreter's own flush at exit fails again.  A command that must act on a failed
write itself (``stap-start-server`` cannot print the PID of the server it started, so
it stops it) uses :func:`write_out`.

A standard descriptor that is closed when the command starts (``>&-``, ``2>&-``, ``<&-``)
is held by /dev/null opened the other way round, so that no file or socket the command
opens lands on it and a write to it (a read, for stdin) fails with EBADF.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, TextIO

from ..errors import StapError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

SIGPIPE = 13  # the same on every Linux architecture; `signal` costs an import of enum


class _Output:
    """What happened to this process's standard output (one per process)."""

    failure: OSError | None = None  # the first write that failed, not yet reported
    prog: str = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "stapserver"


class _Stdout(io.FileIO):
    """Descriptor 1, remembering the first write that fails and discarding the rest."""

    def write(self, data: ReadableBuffer, /) -> int:
        try:
            return super().write(data)
        except OSError as err:
            if _Output.failure is None:
                _Output.failure = err
            _stdout_to_devnull()
            raise


def _stdout_to_devnull() -> None:
    with contextlib.suppress(OSError):
        fd = os.open(os.devnull, os.O_WRONLY)
        if fd != 1:
            os.dup2(fd, 1)
            os.close(fd)


def _hold_closed_descriptors() -> None:
    """Hold a closed descriptor 0, 1 or 2 with /dev/null: a read from 0 and a write to 1
    fail with EBADF, a message to 2 goes nowhere (as a C program ignores its failure).
    Python, which found them closed at start-up, gets a stream for each."""
    for fd, flags in ((0, os.O_WRONLY), (1, os.O_RDONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                held = os.open(os.devnull, flags)
                if held != fd:
                    os.dup2(held, fd)
                    os.close(held)
    if sys.stdin is None:
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
    if sys.stderr is None:
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), errors="backslashreplace", line_buffering=True
        )


def _install_stdout() -> TextIO | None:
    """Make ``sys.stdout`` write through :class:`_Stdout`; the stream it replaced (to put
    back), or None if ``sys.stdout`` is not this process's own (a test's capture)."""
    old = sys.stdout
    if old is None:  # closed at start-up
        new = io.TextIOWrapper(
            io.BufferedWriter(_Stdout(1, "w", closefd=False)),
            encoding="utf-8",
            errors="surrogateescape",
            newline="\n",
        )
    elif old is sys.__stdout__ and isinstance(old, io.TextIOWrapper):
        with contextlib.suppress(Exception):
            old.flush()
        new = io.TextIOWrapper(
            io.BufferedWriter(_Stdout(1, "w", closefd=False)),
            encoding=old.encoding,
            errors=old.errors,
            newline="\n",
            line_buffering=old.line_buffering,
            write_through=old.write_through,
        )
    else:
        return None
    sys.stdout = new
    return old


def write_out(text: str) -> OSError | None:
    """Write ``text`` to stdout and flush it: the error if that failed, which the caller
    then reports (it is not reported again when the command ends)."""
    try:
        stream = sys.stdout
        if stream is None:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        stream.write(text)
        stream.flush()
    except OSError as err:
        _Output.failure = None  # (what was written before went through, or to /dev/null)
        return err
    return None


def run_command(body: Callable[[], int], prog: str) -> int:
    """Run a command's body; turn user-facing errors into stderr text and a status, and
    failed writes on stdout into what GNU tools do (see the module's documentation: on
    EPIPE the process ends here, by SIGPIPE, when the stdout is its own; with a stream
    someone else gave it, it returns 141 instead)."""
    _Output.prog = prog
    _Output.failure = None
    _hold_closed_descriptors()
    replaced = _install_stdout()
    try:
        status = _run(body, prog)
        return _finish(status, prog, own=replaced is not None)
    finally:
        if replaced is not None:
            sys.stdout = replaced


def _run(body: Callable[[], int], prog: str) -> int:
    try:
        return body()
    except StapError as err:
        _flush_quietly()
        message = str(err)
        _say(message if message.endswith("\n") else message + "\n")
        return err.exit_status
    except KeyboardInterrupt:
        _flush_quietly()
        _say(f"{prog}: interrupted\n")
        return 1
    except SystemExit as exc:  # argparse: --help (0) or its own exit
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        _flush_quietly()
        _say(f"{exc.code}\n")
        return 1
    except OSError as err:
        if _Output.failure is not None:  # a write on stdout failed: said when it ends
            return 1
        return _internal_error(err, prog)
    except Exception as err:
        return _internal_error(err, prog)


def _internal_error(err: Exception, prog: str) -> int:
    """A bug of ours: one line, not a traceback."""
    if os.environ.get("STAPSERVER_DEBUG"):
        raise err
    _flush_quietly()
    _say(
        f"{prog}: internal error: {type(err).__name__}: {err} "
        "(set STAPSERVER_DEBUG=1 to see where; please report it)\n"
    )
    return 1


def _finish(status: int, prog: str, own: bool) -> int:
    """Flush stdout; a failed write (now or before) ends as the module says."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as err:
        if _Output.failure is None:  # a stream not ours: it does not remember
            _Output.failure = err
    except Exception:  # closed by someone else: nothing left to write
        pass
    failure, _Output.failure = _Output.failure, None
    if failure is None:
        return status
    if failure.errno == errno.EPIPE:
        if own:
            _die_of_sigpipe()
        return 128 + SIGPIPE
    _say(f"{prog}: write error: {failure.strerror or failure}\n")
    return status or 1


def _die_of_sigpipe() -> NoReturn:
    """End as a program that does not ignore SIGPIPE ends on a write to a closed pipe."""
    import signal

    with contextlib.suppress(Exception):
        sys.stderr.flush()
    with contextlib.suppress(Exception):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGPIPE})
        os.kill(os.getpid(), signal.SIGPIPE)
    os._exit(128 + SIGPIPE)  # only if the signal could not end it


def exit_at_once(status: int) -> NoReturn:
    """End a short command without the interpreter's teardown, a sixth of a
    ``stap-client`` hello world (most of it unloading cryptography and OpenSSL): what it
    wrote is flushed first (a failed write ends it as :func:`run_command` does), its
    files are closed, and it leaves no other state.  For the installed commands only;
    ``main()`` returns as usual for callers in-process."""
    status = _finish(status, _Output.prog, own=sys.stdout is sys.__stdout__)
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(status)


def _say(text: str) -> None:
    """A message on stderr, whatever becomes of it (a closed stderr says nothing)."""
    with contextlib.suppress(Exception):
        sys.stderr.write(text)
        sys.stderr.flush()


def _flush_quietly() -> None:
    """Stdout before a message on stderr, so that they come in order (a failed flush is
    remembered and reported when the command ends)."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()

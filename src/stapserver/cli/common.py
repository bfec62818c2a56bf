"""What every command does with a library error: one message on stderr, an exit status."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from ..errors import StapError


def run_command(body: Callable[[], int], prog: str) -> int:
    """Run a command's body; turn user-facing errors into stderr text and a status."""
    try:
        return body()
    except StapError as err:
        _flush_quietly()
        message = str(err)
        sys.stderr.write(message if message.endswith("\n") else message + "\n")
        return err.exit_status
    except KeyboardInterrupt:
        _flush_quietly()
        sys.stderr.write(f"{prog}: interrupted\n")
        return 1
    except BrokenPipeError:
        # the reader went away (pystap ... | head): nothing more to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as err:  # a bug of ours: one line, not a traceback
        if os.environ.get("STAPSERVER_DEBUG"):
            raise
        _flush_quietly()
        sys.stderr.write(
            f"{prog}: internal error: {type(err).__name__}: {err} "
            "(set STAPSERVER_DEBUG=1 to see where; please report it)\n"
        )
        return 1


def exit_at_once(status: int) -> NoReturn:
    """End a short command without the interpreter's teardown, a sixth of a
    ``stap-client`` hello world (most of it unloading cryptography and OpenSSL): what it
    wrote is flushed first, its files are closed, and it leaves no other state.  For the
    installed commands only; ``main()`` returns as usual for callers in-process."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


def _flush_quietly() -> None:
    with contextlib.suppress(BrokenPipeError, ValueError, OSError):
        sys.stdout.flush()

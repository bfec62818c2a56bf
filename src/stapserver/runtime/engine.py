"""Pass 5: running a module, as staprun and SystemTap's runtime do.

Begin probes in sequence order, then timers on one event loop until ``exit()``, a
signal (SIGINT, SIGTERM, SIGHUP) or the end of the ``-c`` command, then end probes,
the display of globals written but never read, and stap's exit status.  Run-time errors
print ``ERROR: <message> near <place>``; past MAXERRORS they end the session.
"""

from __future__ import annotations

import os
import sys
import time

from .base import ScriptError, StatInitError
from .order import std_sort
from .tapset import TapsetState

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    import signal
    from collections.abc import Callable
    from types import FrameType
    from typing import IO, Any, Protocol

    from .events import EventSource
    from .modsupport import ProbeEntry, Program
else:
    # The C module behind ``signal``: the same functions, without the enum wrappers (which
    # would import enum on every run).  Handlers saved from it are plain ints or callables
    # and go back to it as they came.  ``Protocol`` only matters to type checkers.
    import _signal as signal

    Protocol = object

# heapq, selectors and random are imported by the timer loop, which a module whose begin
# probes call exit() never enters.


class TextOut(Protocol):
    """Where messages go: a text stream (sys.stderr, or anything that writes text)."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class _Abort(Exception):
    """abort(): stop the handler now; the session ends as after exit()."""


class RunOptions:
    """How to run a module: stap's options that matter at pass 5."""

    __slots__ = (
        "buffer_mb",
        "command",
        "suppress_handler_errors",
        "suppress_warnings",
        "target",
        "timeout",
        "verbose",
    )

    def __init__(
        self,
        target: int = 0,  # -x PID
        command: str | None = None,  # -c CMD
        verbose: int = 0,
        suppress_warnings: bool = False,  # -w
        buffer_mb: int = 0,  # -s NUM: the kernel events' ring buffer, in MiB (0: default)
        timeout: int | None = None,  # -T SECONDS
        suppress_handler_errors: bool = False,  # --suppress-handler-errors
    ) -> None:
        self.timeout = timeout
        self.suppress_handler_errors = suppress_handler_errors
        self.buffer_mb = buffer_mb
        self.target = target
        self.command = command
        self.verbose = verbose
        self.suppress_warnings = suppress_warnings


class Session:
    """The state generated code reaches as ``S``."""

    def __init__(
        self,
        module: Any,
        options: RunOptions,
        out: IO[bytes],
        err: TextOut,
    ) -> None:
        self.module = module
        self.options = options
        self.settings: dict[str, int] = dict(module.SETTINGS)
        self._stream = out
        self._err = err
        self._buffer: list[bytes] = []
        self.out: Callable[[bytes], None] = self._buffer.append
        self.tapset = TapsetState()
        self.tapset.out = self.out  # ansi.stp prints through it
        self.target = options.target
        self.pp = b""
        self.pn = b""
        self.errors = 0
        self.skipped = 0
        self.state = "starting"
        self._signal: int | None = None
        self._child: int | None = None
        self._child_status: int | None = None
        self._release_fd: int | None = None
        self._child_started = False
        self._child_stopped = False  # the session ended first, and stopped it
        self.suppressed = 0  # errors --suppress-handler-errors kept quiet
        self._match: re.Match[bytes] | None = None
        self._match_ok = False
        self._stopping = False
        self._stopping_by_script = False
        self._halt = False  # exit(), abort() or too many errors: no more handlers run
        self._warned: set[str] = set()
        self._events: EventSource | None = None
        self._deadline: int | None = None  # -T: when the session ends (monotonic ns)
        self._flooded = False  # the session ended with events still waiting
        self.events_handled = 0  # kernel events whose handlers ran
        self.events_ns = 0  # time spent running them
        self.events_lost = 0

    # ------------------------------------------------------------------ for scripts
    def exit(self) -> None:
        self._stopping = True
        self._stopping_by_script = self._halt = True

    def abort(self) -> None:
        raise _Abort()

    def error(self, message: bytes) -> None:
        """error(msg): stap reports it without a location."""
        raise ScriptError(message[:511].decode("utf-8", "replace"))

    def warn(self, message: bytes) -> None:
        self._warning(message.decode("utf-8", "replace"))

    def _warning(self, text: str) -> None:
        """A WARNING line, once per distinct text (stapio de-duplicates them), unless -w."""
        if self.options.suppress_warnings or text in self._warned:
            return
        self._warned.add(text)
        self.flush()
        self._err.write(f"WARNING: {text[:374]}\n")
        self._err.flush()

    def check(self, value: int, message: bytes) -> None:
        if not value:
            self.error(message)

    def regex_match(self, regex: re.Pattern[bytes], text: bytes) -> int:
        """``=~``: as stap, the outcome of the last match is kept for matched(); a
        failed match leaves the group count of the last successful one."""
        m = regex.search(text)
        self._match_ok = m is not None
        if m is not None:
            self._match = m
        return 1 if m else 0

    def matched(self, n: int, where: str) -> bytes:
        """``matched(n)``: group ``n`` of the last match (regex.stp's checks)."""
        m = self._match
        message = None
        if not self._match_ok:
            message = f"Attempted to get subexpression {n} from failed match"
        groups = m.re.groups + 1 if m is not None else 0
        if n < 0 or n >= groups:
            message = f"Attempted to get nonexistent subexpression {n}"
        if message is not None:
            raise ScriptError(message, where)
        assert m is not None
        return m.group(n) or b""

    def ngroups(self, where: str) -> int:
        if not self._match_ok:
            raise ScriptError("Attempted to get subexpression count from failed match", where)
        m = self._match
        return 0 if m is None else m.re.groups + 1

    # ------------------------------------------------------------------ output
    def flush(self) -> None:
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer.clear()
            try:
                self._stream.write(data)
                self._stream.flush()
            except BrokenPipeError:
                self._stopping = True

    def _report(self, err: ScriptError) -> None:
        self.flush()
        self._err.write(f"ERROR: {str(err)[:376]}\n")
        self._err.flush()

    # ------------------------------------------------------------------ running
    def _fire(self, entry: ProbeEntry, budget: int) -> None:
        self.pp = entry.text.encode()
        self.pn = entry.origin.encode()
        try:
            if entry.condition is not None and not entry.condition():
                return
            entry.handler(budget)
        except ScriptError as err:
            self._count_error(err)
        except RecursionError:
            self._count_error(ScriptError("MAXNESTING exceeded"))
        except _Abort:
            self._stopping = True
            if self.state != "error":
                self.state = "stopping"
        finally:
            self.flush()

    def _count_error(self, err: ScriptError) -> None:
        self.errors += 1
        if self.options.suppress_handler_errors:
            self.suppressed += 1
            # as if each handler were in try { ... } catch { next }: counted, reported
            # at the end, never printed and never ending the session (MAXERRORS)
            return
        self._report(err)
        if self.errors > self.settings["MAXERRORS"]:
            self._stopping = True
            self.state = "error"
            self._halt = True

    def run(self) -> int:
        """Run the module to its end; the exit status stap would give."""
        try:
            program: Program = self.module.build(self)
        except StatInitError as err:
            self._warning(err.message)
            self._err.write("ERROR: module initialization failed: Cannot allocate memory\n")
            return 1
        probes = program.probes
        budget = self.settings["MAXACTION_INTERRUPTIBLE"]
        be = std_sort(
            [p for p in probes if p.kind in ("begin", "end", "error")],
            lambda a, b: a.sequence < b.sequence,
        )
        begins = [p for p in be if p.kind == "begin"]
        ends = [p for p in be if p.kind == "end"]
        error_probes = [p for p in be if p.kind == "error"]
        timers = [p for p in probes if p.kind == "timer"]
        traces = [p for p in probes if p.kind in ("trace", "perf")]
        old_handlers = self._install_signals()
        if self.options.timeout is not None:  # -T
            self._deadline = time.monotonic_ns() + self.options.timeout * 1_000_000_000
        try:
            if self.options.command is not None:
                self._spawn(self.options.command)
            if traces:
                self._arm(traces)
            for p in begins:
                if self._stopping:
                    break
                self._fire(p, budget)
            if not self._stopping:
                self.state = "running"
                self._release()
                self._loop(timers, budget)
            if self._events is not None:
                if not (self._stopping_by_script or self._flooded or self.state == "error"):
                    self._drain(self.settings["MAXACTION"])
                self._disarm()
            if self.state != "error":
                self.state = "stopping"
                for p in ends:
                    if self.state == "error":
                        break
                    self._fire(p, budget)
            if self.state == "error":
                for p in error_probes:
                    self._fire(p, budget)
            self.flush()
        finally:
            self._disarm()
            self._restore_signals(old_handlers)
            self._finish_child()
        failed = self.errors > self.suppressed
        if self.errors or self.skipped:
            self._warning(f"Number of errors: {self.errors}, skipped probes: {self.skipped}")
        status = self._child_status
        if status is not None and self._child_started and not self._child_stopped:
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
                self._warning(f"Child process exited with status {os.WEXITSTATUS(status)}")
                failed = True
            elif os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                self._warning(f"Child process exited with signal {sig} ({signal.strsignal(sig)})")
                failed = True
        return 1 if failed else 0

    # ------------------------------------------------------------------ event loop
    def _loop(self, timers: list[ProbeEntry], budget: int) -> None:
        import heapq
        import selectors

        heap: list[tuple[int, int, ProbeEntry]] = []
        now = time.monotonic_ns()
        if any(p.randomize_ns for p in timers):
            import random

            randint = random.Random().randint

        def interval(p: ProbeEntry) -> int:
            if p.randomize_ns:
                return max(1, p.interval_ns + randint(-p.randomize_ns, p.randomize_ns))
            return p.interval_ns

        for i, p in enumerate(timers):
            heapq.heappush(heap, (now + interval(p), i, p))
        rfd, wfd = os.pipe()
        # select(2) sleeps to the microsecond; epoll and poll round up to milliseconds,
        # but select takes no descriptor past 1023 (kernel events hold many)
        sel: selectors.BaseSelector = (
            selectors.SelectSelector() if wfd < 1000 else selectors.PollSelector()
        )
        os.set_blocking(rfd, False)
        os.set_blocking(wfd, False)
        old_fd = signal.set_wakeup_fd(wfd)
        sel.register(rfd, selectors.EVENT_READ, "signal")
        pidfd = None
        if self._child is not None and self._child_status is None:
            try:
                pidfd = os.pidfd_open(self._child)
                sel.register(pidfd, selectors.EVENT_READ, "child")
            except OSError:
                pidfd = None
        poll = 0.001
        deadline = self._deadline
        try:
            while not self._stopping and self._signal is None:
                now = time.monotonic_ns()
                if deadline is not None and now >= deadline:
                    break
                while heap and heap[0][0] <= now and not self._stopping:
                    due, i, p = heapq.heappop(heap)
                    self._fire(p, budget)
                    nxt = due + interval(p)
                    if nxt <= now:  # missed firings are dropped, as hrtimers forward
                        nxt = now + interval(p)
                    heapq.heappush(heap, (nxt, i, p))
                if self._stopping or self._signal is not None:
                    break
                if self._child_status is not None:
                    break
                timeout = None
                if heap:
                    timeout = max(0.0, (heap[0][0] - time.monotonic_ns()) / 1e9)
                if deadline is not None:
                    left = max(0.0, (deadline - time.monotonic_ns()) / 1e9)
                    timeout = left if timeout is None else min(timeout, left)
                if self._events is not None:
                    # the programs do not wake us (cheaper for the traced tasks): poll,
                    # more often while events flow
                    # kernel events are not interruptible: stap's MAXACTION holds there
                    drained = self._drain(self.settings["MAXACTION"])
                    poll = 0.001 if drained else min(poll * 2, 0.016)
                    if self._stopping:
                        break
                    timeout = poll if timeout is None else min(timeout, poll)
                for key, _ in sel.select(timeout):
                    if key.data == "signal":
                        try:  # noqa: SIM105 - contextlib would be one more import
                            os.read(rfd, 512)
                        except BlockingIOError:
                            pass
                    elif key.data == "child":
                        self._reap(block=True)
                if self._child is not None and self._child_status is None and pidfd is None:
                    self._reap(block=False)
        finally:
            signal.set_wakeup_fd(old_fd)
            sel.close()
            os.close(rfd)
            os.close(wfd)
            if pidfd is not None:
                os.close(pidfd)

    # ------------------------------------------------------------------ kernel events
    def _arm(self, traces: list[ProbeEntry]) -> None:
        from .events import DEFAULT_RING_MB, EventSource

        context = tuple(getattr(self.module, "KERNEL_CONTEXT", ()))
        light = bool(getattr(self.module, "KERNEL_LIGHT", False))
        source = EventSource(traces, self.options.buffer_mb or DEFAULT_RING_MB, context, light)
        self._events = source
        source.start(self.target)

    def _disarm(self) -> None:
        source = self._events
        if source is not None:
            self._events = None
            try:
                self.events_lost = source.lost()
                if self._flooded:  # what was waiting when -T or a signal ended it
                    self.events_lost += source.pending()
                self.skipped += self.events_lost
            finally:
                source.close()
            if self.options.verbose:
                ms = self.events_ns / 1e6
                rate = self.events_handled / (self.events_ns / 1e9) if self.events_ns else 0
                self.flush()
                self._err.write(
                    f"Pass 5: {self.events_handled} kernel events handled in {ms:.0f} ms "
                    f"({rate:.0f}/s), {self.events_lost} lost.\n"
                )

    def _drain(self, budget: int) -> int:
        """Run the handlers of the events waiting in the ring buffer: how many.

        The ring is walked here rather than through a method per record: at a million
        events a second, every call and allocation per event shows."""
        from . import tapset

        source = self._events
        assert source is not None and source.ring is not None
        ring = source.ring
        cons = int(ring.consumer[0])
        prod = int(ring.producer[0])
        if cons == prod:
            return 0
        hdr = ring.headers
        data = ring.data
        mask = ring.mask
        release = ring.consumer
        decoders = source.decoders
        n = 0
        freed = cons
        started = time.monotonic_ns()
        try:
            while cons < prod:
                off = cons & mask
                word = hdr[off >> 2]
                if word & 0x80000000:  # being written
                    break
                cons += ((word & 0x3FFFFFFF) + 15) & ~7
                if word & 0x40000000:  # discarded
                    continue
                off += 8
                d = decoders[hdr[off >> 2]]
                ev = d.unpack(data, off)
                if d.post is not None:
                    ev = d.post(ev, data, off)
                tapset.EV = ev
                self.pp = d.text
                n += 1
                try:
                    if d.condition is None or d.condition():
                        d.handler(budget, ev)
                except ScriptError as err:
                    self._count_error(err)
                except RecursionError:
                    self._count_error(ScriptError("MAXNESTING exceeded"))
                except _Abort:
                    self._stopping = self._stopping_by_script = self._halt = True
                    if self.state != "error":
                        self.state = "stopping"
                if self._halt:
                    break
                if cons - freed > 1 << 20:  # give the kernel room as we go
                    release[0] = freed = cons
                    prod = int(ring.producer[0])
                    # a flood must not hold off -T or a signal
                    if self._signal is not None or (
                        self._deadline is not None and time.monotonic_ns() >= self._deadline
                    ):
                        self._stopping = self._flooded = True
                        break
        finally:
            tapset.EV = None
            release[0] = cons
            self.flush()
            self.events_handled += n
            self.events_ns += time.monotonic_ns() - started
        return n

    # ------------------------------------------------------------------ signals
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signal = signum
        self._stopping = True

    def _install_signals(self) -> dict[int, Any]:
        old: dict[int, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            try:  # noqa: SIM105 - contextlib would be one more import
                old[sig] = signal.signal(sig, self._on_signal)
            except (ValueError, OSError):
                pass
        return old

    @staticmethod
    def _restore_signals(old: dict[int, Any]) -> None:
        for sig, handler in old.items():
            signal.signal(sig, handler)

    # ------------------------------------------------------------------ -c command
    def _spawn(self, command: str) -> None:
        """Start ``command`` with the shell, held before exec until the begin probes ran
        (so that ``target()`` is its PID from the first probe on).  As staprun does, a
        plain command line (words, quotes, variables) is executed directly, so that
        ``target()`` is the command itself; one with shell syntax runs under ``sh -c``."""
        argv = command_argv(command)
        rfd, wfd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child
            try:
                os.close(wfd)
                go = os.read(rfd, 1)
                if go != b"1":
                    os._exit(0)
                os.close(rfd)
                if argv[0] == "/bin/sh":
                    os.execv(argv[0], argv)
                os.execvp(argv[0], argv)
            except OSError as exc:
                os.write(2, f"ERROR: cannot run '{argv[0]}': {exc.strerror}\n".encode())
            except BaseException:
                pass
            os._exit(127)
        os.close(rfd)
        self._child = pid
        self._release_fd = wfd
        self.target = pid

    def _release(self) -> None:
        if self._release_fd is not None:
            os.write(self._release_fd, b"1")
            os.close(self._release_fd)
            self._release_fd = None
            self._child_started = True

    def _finish_child(self) -> None:
        """The session is over: a command still running is told to stop, then reaped."""
        if self._child is not None and self._child_status is None and self._child_started:
            self._child_stopped = True
            try:  # noqa: SIM105 - contextlib would be one more import
                os.kill(self._child, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self._reap(block=True)

    def _reap(self, block: bool = True) -> None:
        if self._release_fd is not None:  # never started: let it go away
            os.close(self._release_fd)
            self._release_fd = None
        if self._child is None or self._child_status is not None:
            return
        try:
            pid, status = os.waitpid(self._child, 0 if block else os.WNOHANG)
        except ChildProcessError:
            self._child_status = 0
            return
        if pid:
            self._child_status = status
            self._stopping = True


def command_argv(command: str) -> list[str]:
    """How ``-c CMD`` is executed: as staprun does, the words of a plain command line
    (wordexp(3): quotes, variables, file name patterns), else ``sh -c CMD`` (unquoted
    shell syntax: ``;``, ``|``, ``&``, redirections, command substitution...)."""
    import shlex

    if "`" in command or "$(" in command or "\n" in command:
        return ["/bin/sh", "-c", command]
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:  # an unterminated quote: the shell will say so
        return ["/bin/sh", "-c", command]
    if not words or any(w and all(ch in "();<>|&" for ch in w) for w in words):
        return ["/bin/sh", "-c", command]
    out: list[str] = []
    for word in words:
        word = os.path.expandvars(word)
        if any(ch in word for ch in "*?["):
            import glob

            out += sorted(glob.glob(word)) or [word]
        else:
            out.append(word)
    return out


def run_module(module: Any, options: RunOptions, out: IO[bytes], err: TextOut) -> int:
    return Session(module, options, out, err).run()


def run_module_to(
    module: Any, options: RunOptions, output: str | None, given: str, out: IO[bytes], err: TextOut
) -> int:
    """Pass 5 with ``-o``: the module's output goes to the file ``output`` (``given`` as
    the user wrote it, for messages), else to ``out``.  A file that cannot be opened or
    written is one InputError line, as stap words the first."""
    if output is None:
        return run_module(module, options, out, err)
    from ..errors import InputError

    try:
        target = open(output, "wb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"Cannot open output file '{given}': {exc.strerror}.") from None
    try:
        try:
            return run_module(module, options, target, err)
        finally:
            target.close()
    except OSError as exc:  # a full disk, a file system gone
        raise InputError(f"cannot write output file '{given}': {exc.strerror or exc}") from None

"""Kernel event probes of ``pystap`` (root): real events the tests cause themselves,
compared exactly with what SystemTap 4.8's tapsets and runtime would print.

Each run is a whole ``pystap`` process: the syscall aliases (``syscall.NAME``, with the
tapset's ``name``, ``argstr``, ``retstr``, ``filename``...), ``kernel.trace`` with
``$field`` and ``$$parms``, context functions captured in the kernel at the event,
``-c``/``-x``/``-s``/``-v``, lost events, handler errors and MAXACTION."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="kernel event probes need root")

PYSTAP = str(Path(sys.executable).parent / "pystap")
NOBODY = 65534


def stap(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYSTAP, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        timeout=timeout,
    )


def helper(folder: Path, name: str, code: str) -> str:
    """A python script for ``-c``: a plain command line (no shell syntax), so that
    ``target()`` is the script's own process."""
    path = folder / name
    path.write_text(code)
    return f"{sys.executable} {path}"


# -- syscall aliases -------------------------------------------------------------------

LOOP = "sh -c 'i=0; while [ $i -lt 500 ]; do /bin/true; i=$((i+1)); done'"


def test_execve_count_is_exact(tmp_path: Path) -> None:
    # stap's sysc_execve.stp: filename = user_string_quoted(...): the name in quotes
    script = (
        'global n probe syscall.execve { if (filename == "\\"/bin/true\\"") n++ } '
        "probe end { println(n) }"
    )
    for _ in range(3):
        r = stap("-e", script, "-c", LOOP, cwd=tmp_path)
        assert (r.returncode, r.stdout, r.stderr) == (0, "500\n", "")


def test_execve_filename_unquoted_never_matches(tmp_path: Path) -> None:
    # the script of the issue: in stap, ``filename`` is quoted, so it counts nothing
    script = (
        'global n probe syscall.execve { if (filename == "/bin/true") n++ } '
        "probe end { println(n) }"
    )
    r = stap("-e", script, "-c", LOOP, cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "0\n", "")


def test_openat_filename_is_quoted(tmp_path: Path) -> None:
    r = stap(
        "-e",
        'probe syscall.openat { if (pid() == target()) printf("%s\\n", filename) }',
        "-c",
        "cat /etc/hostname",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    hostname = Path("/etc/hostname").read_text()
    # cat's own output comes first or among the lines; the probe prints the quoted name
    assert lines.count('"/etc/hostname"') == 1, r.stdout
    assert "/etc/hostname" not in lines
    # user_string_quoted: a name in quotes, or (a page not yet read in: the copy cannot
    # fault it in at the event) the address in hex, as stap's runtime gives it
    names = [ln for ln in lines if ln + "\n" != hostname]
    assert all(re.fullmatch(r'".*"|0x[0-9a-f]+', ln) for ln in names), r.stdout


def test_openat_argstr_and_retstr_of_missing_file(tmp_path: Path) -> None:
    script = (
        'probe syscall.openat { if (pid() == target()) printf("%s(%s)\\n", name, argstr) } '
        'probe syscall.openat.return { if (pid() == target()) printf("%s = %s\\n", name, retstr) }'
    )
    r = stap("-e", script, "-c", "cat /nonexistent-xyz", cwd=tmp_path)
    lines = r.stdout.splitlines()
    call = 'openat(AT_FDCWD, "/nonexistent-xyz", O_RDONLY)'
    assert lines.count(call) == 1, r.stdout
    assert lines[lines.index(call) + 1] == "openat = -2 (ENOENT)"
    # every call is followed by its return (one thread)
    assert all(ln.startswith("openat(") for ln in lines[0::2]), r.stdout
    assert all(ln.startswith("openat = ") for ln in lines[1::2]), r.stdout
    # cat fails: staprun warns, and the run fails (as stap -c does)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "cat: /nonexistent-xyz: No such file or directory",
        "WARNING: Child process exited with status 1",
        "Pass 5: run failed.  [man error::pass5]",
    ]


def test_quoted_shell_characters_are_a_plain_command(tmp_path: Path) -> None:
    # staprun splits -c with wordexp(3): metacharacters inside quotes are no shell
    # syntax (wordexp accepts them), so the command is executed directly and target()
    # is echo itself, not a shell around it
    r = stap(
        "-e",
        'probe syscall.exit_group { if (pid() == target()) printf("%s\\n", execname()) }',
        "-c",
        "/bin/echo 'a;b'",
        cwd=tmp_path,
    )
    assert (r.returncode, r.stdout, r.stderr) == (0, "a;b\necho\n", "")


# -- -x PID ----------------------------------------------------------------------------

WRITER = """\
import os, sys
sys.stdin.buffer.read(1)
fd = os.open("/dev/null", os.O_WRONLY)
os.dup2(fd, 9)
os.write(9, b"x" * 12345)
sys.stdin.buffer.read(1)
"""


def test_attach_to_pid(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", WRITER], stdin=subprocess.PIPE)
    assert child.stdin is not None
    try:
        script = (
            'probe begin { printf("ready %d\\n", target()) } '
            "probe syscall.write { if (pid() == target()) { "
            'printf("%d %d %d %s\\n", target(), fd, count, argstr); exit() } }'
        )
        run = subprocess.Popen(
            [PYSTAP, "-e", script, "-x", str(child.pid)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=tmp_path,
        )
        assert run.stdout is not None
        assert run.stdout.readline() == f"ready {child.pid}\n"
        child.stdin.write(b"g")
        child.stdin.flush()
        out, err = run.communicate(timeout=10)
    finally:
        child.stdin.write(b"g")
        child.stdin.close()
        child.wait(timeout=10)
    # sysc_write.stp: "%d, %s, %u" with buf_str = user_buffer_quoted(buf, count, 50)
    buf = '"' + "x" * 45 + '"...'
    assert (run.returncode, out, err) == (0, f"{child.pid} 9 12345 9, {buf}, 12345\n", "")


# -- context of the event --------------------------------------------------------------

SETPRIV = f"/usr/bin/setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups /bin/true"


def test_context_of_a_short_lived_process(tmp_path: Path) -> None:
    # the process is gone when the handler runs: what it prints was captured at the event
    script = (
        "probe syscall.exit_group { if (pid() == target()) "
        'printf("%s %d %d %d %d\\n", execname(), pid() - target(), tid() - pid(), uid(), gid()) }'
    )
    for _ in range(2):
        r = stap("-e", script, "-c", SETPRIV, cwd=tmp_path)
        assert (r.returncode, r.stdout, r.stderr) == (0, f"true 0 0 {NOBODY} {NOBODY}\n", "")


def test_more_context_of_a_short_lived_process(tmp_path: Path) -> None:
    # ppid, euid, egid, pgrp, sid, pexecname: the traced process's, not pystap's, and
    # not read from /proc after the process is gone
    script = (
        "probe syscall.exit_group { if (pid() == target()) "
        'printf("%s %d %d %d %d %d %s\\n", execname(), euid(), egid(), '
        "pgrp() - pid(), sid() - pid(), ppid(), pexecname()) }"
    )
    run = subprocess.Popen(
        [PYSTAP, "-e", script, "-c", f"/usr/bin/setsid {SETPRIV}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    out, err = run.communicate(timeout=20)
    expected = f"true {NOBODY} {NOBODY} 0 0 {run.pid} pystap\n"
    assert (run.returncode, out, err) == (0, expected, "")


# -- kernel.trace ----------------------------------------------------------------------


def test_tracepoint_string_field_and_parms(tmp_path: Path) -> None:
    script = (
        'probe kernel.trace("sched:sched_process_exec") { if (pid() == target()) '
        'printf("%d|%s|%s|%d|%d\\n", target(), $filename, $$parms, $pid, $old_pid) }'
    )
    r = stap("-e", script, "-c", "/bin/true", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    t = int(r.stdout.split("|", 1)[0])
    assert r.stdout == f'{t}|/bin/true|filename="/bin/true" pid={t:#x} old_pid={t:#x}|{t}|{t}\n'


def test_tracepoint_pointer_field_is_a_number(tmp_path: Path) -> None:
    script = (
        'probe kernel.trace("syscalls:sys_enter_openat") { if (pid() == target()) { '
        'try { s = user_string($filename) } catch { s = "?" } '
        'printf("%d %s\\n", $filename, s) } }'
    )
    r = stap("-e", script, "-c", "cat /etc/hostname", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    mine = [ln.split() for ln in r.stdout.splitlines() if ln.endswith(" /etc/hostname")]
    assert len(mine) == 1, r.stdout
    assert int(mine[0][0]) > 4096


def test_tracepoint_unknown_field_names_alternatives(tmp_path: Path) -> None:
    r = stap(
        "-p2",
        "-e",
        'probe kernel.trace("syscalls:sys_enter_openat") { println($nosuch) }',
        cwd=tmp_path,
    )
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first.startswith(
        "semantic error: unable to find tracepoint variable '$nosuch' (alternatives: "
    ), r.stderr
    alternatives = first.split("(alternatives: ", 1)[1].split(")", 1)[0].split(", ")
    assert {"$dfd", "$filename", "$flags", "$mode"} <= set(alternatives)
    assert r.stderr.endswith("Pass 2: analysis failed.  [man error::pass2]\n")
    assert "Traceback" not in r.stderr


# -- lost events -----------------------------------------------------------------------

HANDLED = re.compile(r"^Pass 5: (\d+) kernel events handled in \d+ ms \(\d+/s\), (\d+) lost\.$")
SKIPPED = re.compile(r"^WARNING: Number of errors: 0, skipped probes: (\d+)$")


def test_lost_events_are_skipped_probes(tmp_path: Path) -> None:
    # a slow handler on every write of dd into a 1 MB ring: events are lost; those
    # handled and those lost make up all of dd's 200000 writes (status=none: no others)
    script = (
        "global n probe syscall.write { if (pid() == target()) { n++ "
        's = sprintf("%d|%d|%d|%s|%s|%d", fd, count, n, name, execname(), tid()) '
        's = sprintf("%s%s%s%s", s, s, s, s) printf("%s\\n", s) } } '
        'probe end { printf("n=%d\\n", n) }'
    )
    dd = "dd if=/dev/zero of=/dev/null bs=1 count=200000 status=none"
    r = stap("-v", "-s", "1", "-e", script, "-c", dd, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    handled = lost = skipped = None
    for line in r.stderr.splitlines():
        if m := HANDLED.match(line):
            handled, lost = int(m[1]), int(m[2])
        elif m := SKIPPED.match(line):
            skipped = int(m[1])
    assert handled is not None and lost is not None, r.stderr
    assert skipped == lost and lost > 0, r.stderr
    lines = r.stdout.splitlines()
    n = int(lines[-1].removeprefix("n="))
    assert n == handled == len(lines) - 1
    assert handled + lost == 200000


# -- errors in handlers ----------------------------------------------------------------

OPENS = """\
import os
for _ in range(50):
    os.close(os.open("/dev/null", os.O_RDONLY))
"""


def test_first_handler_error_ends_the_run(tmp_path: Path) -> None:
    # MAXERRORS=0: the first error ends the session; no other handler runs after it
    # (stap's probes run only in the running state), the end probes neither
    script = (
        'probe syscall.openat { if (pid() == target()) error("x") } probe end { println("end") }'
    )
    r = stap("-e", script, "-c", helper(tmp_path, "opens.py", OPENS), cwd=tmp_path)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        "ERROR: x\n"
        "WARNING: Number of errors: 1, skipped probes: 0\n"
        "Pass 5: run failed.  [man error::pass5]\n"
    )


def test_suppress_handler_errors(tmp_path: Path) -> None:
    # stap(1): each handler as in try { ... } catch { next }: errors never printed,
    # MAXERRORS not enforced, the count reported at shutdown (a WARNING); staprun's exit
    # status comes from ERROR messages only, so the run succeeds
    script = (
        'global n probe syscall.openat { if (pid() == target() && filename == "\\"/dev/null\\"") '
        '{ n++; error("x") } } probe end { printf("n=%d\\n", n) }'
    )
    r = stap(
        "--suppress-handler-errors",
        "-e",
        script,
        "-c",
        helper(tmp_path, "opens.py", OPENS),
        cwd=tmp_path,
    )
    assert (r.returncode, r.stdout, r.stderr) == (
        0,
        "n=50\n",
        "WARNING: Number of errors: 50, skipped probes: 0\n",
    )


def test_maxaction_in_kernel_event_handler(tmp_path: Path) -> None:
    # kernel events run with interrupts off in stap: MAXACTION (1000), not
    # MAXACTION_INTERRUPTIBLE; a begin probe may run the same loop
    script = (
        "probe begin { for (i = 0; i < 2000; i++) s++; println(s) } "
        "probe syscall.openat { if (pid() == target()) { for (i = 0; i < 2000; i++) s++ } } "
        'probe end { println("end") }'
    )
    r = stap("-e", script, "-c", helper(tmp_path, "opens.py", OPENS), cwd=tmp_path)
    assert (r.returncode, r.stdout) == (1, "2000\n")
    lines = r.stderr.splitlines()
    assert len(lines) == 3, r.stderr
    assert lines[0].startswith("ERROR: MAXACTION exceeded near "), r.stderr
    assert lines[1:] == [
        "WARNING: Number of errors: 1, skipped probes: 0",
        "Pass 5: run failed.  [man error::pass5]",
    ]


def test_maxaction_can_be_raised(tmp_path: Path) -> None:
    script = (
        "global n probe syscall.openat { if (pid() == target()) "
        "{ for (i = 0; i < 2000; i++) s++; n++ } } "
        'probe end { printf("n=%d\\n", n) }'
    )
    r = stap(
        "-DMAXACTION=10000", "-e", script, "-c", helper(tmp_path, "opens.py", OPENS),
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert int(r.stdout.removeprefix("n=")) >= 50


# -- many syscall probes: one dispatcher per direction ---------------------------------


def test_syscall_star_goes_through_the_dispatcher(tmp_path: Path) -> None:
    """syscall.* and syscall.*.return attach two tracepoints (raw_syscalls), not 700:
    the run starts and ends in seconds, and each syscall's alias still reads its own
    arguments and strings."""
    import time

    script = (
        'probe syscall.* { if (pid() == target() && name == "openat" && '
        'filename == "\\"/nonexistent-xyz\\"") printf("%s(%s)\\n", name, argstr) } '
        'probe syscall.*.return { if (pid() == target() && name == "openat" && '
        'retval == -2) printf("= %s\\n", retstr) }'
    )
    started = time.monotonic()
    r = stap("-e", script, "-c", "cat /nonexistent-xyz", cwd=tmp_path, timeout=60)
    took = time.monotonic() - started
    lines = r.stdout.splitlines()
    assert lines.count('openat(AT_FDCWD, "/nonexistent-xyz", O_RDONLY)') == 1
    assert "= -2 (ENOENT)" in lines
    assert took < 30, f"{took:.1f} s: detaching 700 tracepoints one by one takes a minute"


def test_syscall_slots_map_tracepoints_to_numbers() -> None:
    from stapserver.runtime.events import MULTIPLEX_MIN, _syscall_slots
    from stapserver.runtime.kernel import tracefs

    names = ["openat", "read", "write", "close", "newstat", "newuname", "mmap", "brk"]
    formats = [tracefs.event_format("syscalls", f"sys_enter_{n}") for n in names]
    assert len(names) >= MULTIPLEX_MIN
    slots = _syscall_slots([*formats, None, formats[0]])
    # x86_64: openat 257, read 0, write 1, close 3, stat 4, uname 63, mmap 9, brk 12
    assert [slots[i] for i in range(len(names))] == [
        ("sys_enter", n) for n in (257, 0, 1, 3, 4, 63, 9, 12)
    ]
    assert len(names) + 1 not in slots  # a second probe on openat attaches directly
    assert _syscall_slots(formats[:3]) == {}  # few probes: each on its tracepoint


def test_entry_value_in_a_return_probe(tmp_path: Path) -> None:
    """@entry(gettimeofday_ms()) in clock_nanosleep's return: the time at its entry."""
    script = (
        "probe syscall.clock_nanosleep.return { if (pid() == target()) "
        'printf("%d\\n", gettimeofday_ms() - @entry(gettimeofday_ms())) }'
    )
    r = stap("-e", script, "-c", "sleep 0.3", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (elapsed,) = r.stdout.split()
    assert 290 <= int(elapsed) < 3000


def test_light_header_leaves_out_only_what_no_handler_reads(tmp_path: Path) -> None:
    """A module whose handlers read no uid, gid, time or comm records none (three
    helper calls fewer per event); one that reads them gets them right."""
    from stapserver.translator.codegen import light_header
    from tests.translator.test_semantic import elab

    assert light_header(elab("global n probe syscall.read { if (pid() == 1) n++ }"))
    for call in ("execname()", "uid()", "gettimeofday_s()", "task_execname(task_current())"):
        assert not light_header(elab(f"probe syscall.read {{ println({call}) }}"))
    script = (
        "probe syscall.exit_group { if (pid() == target()) "
        'printf("%s %d %d\\n", execname(), uid(), gettimeofday_s() > 1700000000) }'
    )
    r = stap("-e", script, "-c", "setpriv --reuid=65534 /bin/true", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "true 65534 1\n", "")

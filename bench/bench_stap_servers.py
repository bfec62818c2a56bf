"""Our server against SystemTap's stap-serverd, side by side, with real SystemTap.

Both servers run in one network namespace (theirs as ``nobody``, as it insists), both
with the runtime fix that lets SystemTap 4.8 build kernel modules against Debian's
headers, both reached by our ``stap-client``.  For each server:

- a ``-p2`` request (the same one, five times);
- a ``-p4`` kernel-module request, then the same again (SystemTap's cache or ours should
  answer it without rebuilding).

Reported: wall time per request at the client, and CPU time the server used for it (its
own and its reaped children's: the builds), from /proc/PID/stat.  Needs root, stap,
stap-serverd and the kernel headers; prints "skipped" otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))

from common import report  # noqa: E402 - after the path set-up

HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'
P2 = "global n probe timer.ms(10) { if (++n > 3) exit() } probe end { println(n) }"


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of ``pid`` (and of every descendant of it)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid = int(fields[1])
        if int(proc.name) == pid or _descends(ppid, pid):
            total += sum(int(x) for x in fields[11:15]) / tick
    return total


def _descends(ppid: int, ancestor: int) -> bool:
    seen = 0
    while ppid > 1 and seen < 64:
        if ppid == ancestor:
            return True
        try:
            fields = Path(f"/proc/{ppid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return False
        ppid = int(fields[1])
        seen += 1
    return False


def main() -> int:
    from tests.e2e.netns import Lan, netns_available
    from tests.e2e.systemtap import (
        headers_release,
        runtime_fix,
        shared_dir,
        start_their_server,
        systemtap_missing,
    )

    why = netns_available() or systemtap_missing()
    if why:
        print(f"bench_stap_servers: skipped ({why})")
        return 0
    release = headers_release()
    assert release is not None
    fix_base = shared_dir("bench-runtime-")
    fixed = runtime_fix(fix_base)
    with tempfile.TemporaryDirectory(prefix="bench-servers-") as tmp:
        lan = Lan(Path(tmp))
        theirs = None
        try:
            host = lan.add_host("bench-host")
            ours = host.start_server("--address", "127.0.0.1", "-R", str(fixed))
            theirs = start_their_server(
                ["ip", "netns", "exec", host.ns], release, 4321, "-R", str(fixed)
            )
            r = host.run("stap-add-server-cert", str(theirs.cert), str(host.env.client_db()))
            assert r.returncode == 0, r.stderr
            their_pid = theirs.proc.pid
            status = json.loads((host.env.root / "run" / f"{ours.pid}.json").read_text())
            servers = [
                ("ours", f"127.0.0.1:{status['port']}", ours.pid),
                ("stap-serverd", "127.0.0.1:4321", their_pid),
            ]
            for label, address, pid in servers:
                times, cpus = [], []
                for _ in range(5):
                    c0, t0 = cpu_seconds(pid), time.perf_counter()
                    r = host.run(
                        "stap-client", f"--server={address}", "--runtime=kernel", f"-r{release}",
                        "-p2", "-e", P2,
                    )  # fmt: skip
                    times.append(time.perf_counter() - t0)
                    cpus.append(cpu_seconds(pid) - c0)
                    assert r.returncode == 0, r.stderr
                report(
                    f"-p2 via {label}",
                    f"median {sorted(times)[2] * 1000:.0f} ms/request, "
                    f"server CPU median {sorted(cpus)[2] * 1000:.0f} ms",
                )
            for label, address, pid in servers:
                for attempt in ("first", "again"):
                    c0, t0 = cpu_seconds(pid), time.perf_counter()
                    r = host.run(
                        "stap-client", f"--server={address}", "--runtime=kernel", f"-r{release}",
                        "-p4", "-e", HELLO, timeout=600,
                    )  # fmt: skip
                    took = time.perf_counter() - t0
                    cpu = cpu_seconds(pid) - c0
                    assert r.returncode == 0, r.stderr
                    report(
                        f"-p4 kernel module via {label}, {attempt}",
                        f"{took:.2f} s, server CPU {cpu:.2f} s",
                    )
        finally:
            if theirs is not None:
                theirs.stop()
            lan.close()
            shutil.rmtree(fix_base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

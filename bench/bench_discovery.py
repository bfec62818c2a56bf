"""Discovery on a namespaced local network (root only; the tests' ``Lan``).

Host A runs a compile server (advertised with DNS-SD); on host B, whole processes
(interpreter start-up to exit), in one run:

- ``stap-find-servers``: until it prints the server's line, and until it exits, over
  runs spaced like a person's (1.2 s apart), then back to back;
- SystemTap's own ``stap --list-servers`` (with avahi-daemon on B, as SystemTap needs),
  listing the same server, when SystemTap and avahi are installed;
- ``stap-client -e 'hello world'`` finding the server, and with ``--server=IP:PORT``.

Target: stap-find-servers exits in < 150 ms (median) with a server present.
The namespace entry (``ip netns exec``, ``unshare``, ``hostname``) is measured alone
and reported; the figures include it, as a user's shell would not pay it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))

from common import compile_package, percentile, report  # noqa: E402 - after the path set-up

HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'
RUNS = 30


def ms(values: list[float]) -> str:
    return (
        f"median {percentile(values, 50) * 1000:.0f} ms, "
        f"p99 {percentile(values, 99) * 1000:.0f} ms ({len(values)} runs)"
    )


def timed(argv: list[str], env: dict[str, str] | None, expect: bytes) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env, capture_output=True, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    assert expect in r.stdout + r.stderr, (argv, r.stdout, r.stderr)  # stap lists on stderr
    return took


def find_times(host: object, spacing: float) -> tuple[list[float], list[float]]:
    from tests.e2e.netns import Host

    assert isinstance(host, Host)
    first: list[float] = []
    done: list[float] = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            host.argv("stap-find-servers"), stdout=subprocess.PIPE, env=host.env.env
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        t1 = time.perf_counter()
        proc.stdout.read()
        proc.wait()
        t2 = time.perf_counter()
        assert line.startswith(b"Systemtap Compile Server on "), line
        first.append(t1 - t0)
        done.append(t2 - t0)
        time.sleep(spacing)
    return first, done


def their_list_servers(host: object, port: int) -> list[float] | str:
    """``stap --list-servers`` on ``host`` with avahi there, timed; or why not."""
    from tests.e2e.netns import Host
    from tests.e2e.systemtap import start_avahi

    assert isinstance(host, Host)
    if shutil.which("stap") is None or shutil.which("avahi-daemon") is None:
        return "skipped (needs SystemTap and avahi-daemon: .ci/install-systemtap)"
    avahi = start_avahi(host)
    try:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(host.env.home)}
        want = f"port={port}".encode()
        deadline = time.monotonic() + 30  # avahi probes its own host name first
        while time.monotonic() < deadline:
            r = subprocess.run(avahi.argv("stap", "--list-servers=all"), env=env,
                               capture_output=True)  # fmt: skip
            if want in r.stderr:
                break
            time.sleep(0.5)
        return [timed(avahi.argv("stap", "--list-servers=all"), env, want) for _ in range(RUNS)]
    finally:
        avahi.stop()


def main() -> int:
    from tests.e2e.netns import Lan, netns_available

    why = netns_available()
    if why:
        print(f"bench_discovery: skipped ({why})")
        return 0
    compile_package()
    with tempfile.TemporaryDirectory(prefix="bench-discovery-") as tmp:
        lan = Lan(Path(tmp))
        try:
            a, b = lan.add_host("bench-a"), lan.add_host("bench-b")
            server = a.start_server("--no-stap")
            server.wait_advertised()
            b.trust(a)
            entry = [timed(b.argv("/bin/echo", "x"), b.env.env, b"x") for _ in range(RUNS)]
            report("namespace entry alone (included below)", ms(entry))
            first, done = find_times(b, 1.2)
            report("stap-find-servers, server line printed", ms(first))
            report("stap-find-servers, exited", ms(done), "< 150 ms median")
            first, done = find_times(b, 0.0)
            report("  back to back: server line printed", ms(first))
            report("  back to back: exited", ms(done))
            theirs = their_list_servers(b, server.port)
            if isinstance(theirs, str):
                report("stap --list-servers (SystemTap 4.8, avahi)", theirs)
            else:
                report("stap --list-servers (SystemTap 4.8, avahi)", ms(theirs))
            for label, extra in (
                ("stap-client hello, discovery", []),
                ("stap-client hello, --server=IP:PORT", [f"--server={a.address}:{server.port}"]),
            ):
                argv = b.argv("stap-client", *extra, "-e", HELLO)
                times = [timed(argv, b.env.env, b"Hello World!\n") for _ in range(RUNS)]
                report(label, ms(times))
        finally:
            lan.close()
    return 0


if __name__ == "__main__":
    if os.environ.get("STAPSERVER_DEBUG") is None:
        os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())

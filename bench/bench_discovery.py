"""Discovery on a namespaced local network (root only; the tests' ``Lan``).

Host A runs a compile server (advertised with DNS-SD); on host B:

- ``stap-find-servers``: time until it prints the server's line, and until it exits,
  over runs spaced like a person's (1.2 s apart), then back to back;
- ``stap-client -e 'hello world'`` with discovery against the same with
  ``--server=IP:PORT`` (whole processes: interpreter start-up to exit).

Target: stap-find-servers prints a present server in <= 250 ms (median).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))

from common import percentile, report  # noqa: E402 - after the path set-up

HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'
RUNS = 30


def ms(values: list[float]) -> str:
    return (
        f"median {percentile(values, 50) * 1000:.0f} ms, "
        f"p99 {percentile(values, 99) * 1000:.0f} ms ({len(values)} runs)"
    )


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
        proc.wait()
        t2 = time.perf_counter()
        assert line.startswith(b"Systemtap Compile Server on "), line
        first.append(t1 - t0)
        done.append(t2 - t0)
        time.sleep(spacing)
    return first, done


def main() -> int:
    from tests.e2e.netns import Lan, netns_available

    why = netns_available()
    if why:
        print(f"bench_discovery: skipped ({why})")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-discovery-") as tmp:
        lan = Lan(Path(tmp))
        try:
            a, b = lan.add_host("bench-a"), lan.add_host("bench-b")
            server = a.start_server()
            server.wait_advertised()
            b.trust(a)
            first, done = find_times(b, 1.2)
            report("stap-find-servers, server line printed", ms(first), "<= 250 ms median")
            report("stap-find-servers, exited", ms(done))
            first, done = find_times(b, 0.0)
            report("  back to back: server line printed", ms(first))
            report("  back to back: exited", ms(done))
            for label, extra in (
                ("stap-client hello, discovery", []),
                ("stap-client hello, --server=IP:PORT", [f"--server={a.address}:{server.port}"]),
            ):
                times = []
                for _ in range(RUNS):
                    t0 = time.perf_counter()
                    r = b.run("stap-client", *extra, "-e", HELLO)
                    times.append(time.perf_counter() - t0)
                    assert r.stdout == b"Hello World!\n", r.stderr
                report(label, ms(times))
        finally:
            lan.close()
    return 0


if __name__ == "__main__":
    if os.environ.get("STAPSERVER_DEBUG") is None:
        os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())

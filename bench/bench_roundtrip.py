"""The compile service on loopback: round trips, throughput, stap-client as a process.

A server is started with stap-start-server (RSA 4096 key, as SystemTap's) in a private
environment.  A warm client (this process, with everything imported) measures:

- the TLS round trip alone (a length-0 request: handshake, certificate check, close);
- one hello-world request: TLS handshake, request, translation (or the server's cache,
  since the same request gets the same response), response, verification of the
  manifest and module signatures, as stap-client does before pass 5;
- the same with a different script each time, so the server builds every one;
- throughput with 1, 4 and 16 concurrent clients (16 x 200 requests: no failure allowed);
- ``stap-client -e 'hello world'`` as a whole process (interpreter start-up, passes 1-5).

Targets: round trip <= 10 ms median for hello world; 16 clients x 200 requests, no failure.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import compile_package, percentile, report

from stapserver.client.address import ServerAddress
from stapserver.client.connection import exchange
from stapserver.protocol import archive, request, response
from stapserver.trust import database, signing
from stapserver.trust.policy import Decision, decide_presented

BIN = Path(sys.executable).parent
HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'


def environment(root: Path) -> dict[str, str]:
    return {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(root),
        "SYSTEMTAP_DIR": str(root / ".systemtap"),
        "STAPSERVER_SYSCONFDIR": str(root / "etc"),
        "STAPSERVER_RUNDIR": str(root / "run"),
        "SYSTEMTAP_STAPRUN": str(root / "none"),
    }


def one_request(address: ServerAddress, script: str, judge: Callable[[bytes], Decision]) -> float:
    req = request.Request(
        argv=["--runtime=python", "-p4", "-e", script], release=os.uname().release, arch="x86_64"
    )
    payload = request.encode(req)
    t0 = time.perf_counter()
    der, data = exchange(address, payload, judge)
    key = signing.public_key(der)
    resp = response.decode(
        data,
        archive.Limits(max_compressed=1 << 30, max_uncompressed=1 << 30),
        verify=lambda blob, sig: signing.verify(key, blob, sig),
        require_manifest=True,
    )
    for name, blob in resp.module_files.items():
        if not name.endswith(".sgn"):
            assert signing.verify(key, blob, resp.module_files[name + ".sgn"])
    elapsed = time.perf_counter() - t0
    assert resp.rc == 0 and resp.signed, resp.stderr
    return elapsed


def main() -> None:
    compile_package()
    with tempfile.TemporaryDirectory(prefix="stapserver-bench-") as tmp:
        root = Path(tmp)
        env = environment(root)
        os.environ.update(env)  # this process is the client: same databases
        started = subprocess.run(
            [str(BIN / "stap-start-server"), "--address", "127.0.0.1", "--max-threads", "2"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        pid = int(started.stdout)
        port = json.loads((root / "run" / f"{pid}.json").read_text())["port"]
        address = ServerAddress("127.0.0.1", port)
        try:
            dirs = database.client_db_dirs([])
            dbs = [(d, database.trusted_certificates(d)) for d in dirs]

            def judge(der: bytes) -> Decision:  # as stap-client judges a server
                return decide_presented(der, dirs, lambda: dbs)

            tls = []
            for _ in range(100):
                t0 = time.perf_counter()
                exchange(address, None, judge)
                tls.append(time.perf_counter() - t0)
            report(
                "TLS round trip alone (length 0)",
                f"median {percentile(tls, 50) * 1000:.2f} ms, "
                f"p99 {percentile(tls, 99) * 1000:.2f} ms",
            )

            one_request(address, HELLO, judge)  # warm the server (and its cache)
            times = [one_request(address, HELLO, judge) for _ in range(200)]
            report(
                "hello world round trip (warm client, warm server)",
                f"median {percentile(times, 50) * 1000:.2f} ms, "
                f"p99 {percentile(times, 99) * 1000:.2f} ms",
                "<= 10 ms median",
            )

            fresh = [one_request(address, f"{HELLO} # {i}", judge) for i in range(100)]
            report(
                "round trip, a new script each time (full build)",
                f"median {percentile(fresh, 50) * 1000:.2f} ms, "
                f"p99 {percentile(fresh, 99) * 1000:.2f} ms",
            )

            for clients, per_client in ((1, 200), (4, 200), (16, 200)):
                failures = 0

                def run_client(c: int, per_client: int = per_client) -> int:
                    bad = 0
                    for i in range(per_client):
                        try:
                            one_request(address, f"{HELLO} # {c} {i % 20}", judge)
                        except Exception:
                            bad += 1
                    return bad

                t0 = time.perf_counter()
                with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                    failures = sum(pool.map(run_client, range(clients)))
                wall = time.perf_counter() - t0
                total = clients * per_client
                report(
                    f"throughput, {clients} concurrent client(s) x {per_client}",
                    f"{total / wall:.0f} requests/s, {failures} failed of {total}",
                    "no failure" if clients == 16 else "",
                )

            runs = []
            for _ in range(30):
                t0 = time.perf_counter()
                r = subprocess.run(
                    [str(BIN / "stap-client"), f"--server=127.0.0.1:{port}", "-e", HELLO],
                    env=env,
                    capture_output=True,
                )
                runs.append(time.perf_counter() - t0)
                assert r.stdout == b"Hello World!\n", r.stderr
            report(
                "stap-client hello world, whole process",
                f"median {percentile(runs, 50) * 1000:.0f} ms, "
                f"p99 {percentile(runs, 99) * 1000:.0f} ms (30 runs)",
                "< 100 ms median",
            )
        finally:
            subprocess.run([str(BIN / "stap-stop-server"), str(pid)], env=env, check=False)


if __name__ == "__main__":
    main()

"""``make demo``: the main job, end to end, as a user would type it.

A compile server is started on loopback, the man page's hello-world script is compiled
on it by ``stap-client`` and run here (pass 5, python runtime), and the server is
stopped.  Everything happens in a temporary SystemTap folder, so the demo leaves no
certificate or trust behind.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .hostinfo import pass5_runtimes

HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'
BIN = Path(sys.executable).parent


def step(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    print("$ " + " ".join(shlex.quote(a) for a in argv), flush=True)
    result = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], env=env, capture_output=True, text=True, check=False
    )
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sys.stdout.flush()
    return result


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="stapserver-demo-") as tmp:
        root = Path(tmp)
        env = dict(os.environ)
        env.update(
            {
                "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
                "SYSTEMTAP_DIR": str(root / ".systemtap"),
                "STAPSERVER_SYSCONFDIR": str(root / "etc"),
                "STAPSERVER_RUNDIR": str(root / "run"),
            }
        )
        print(f"(a private SystemTap folder for the demo: {root})")
        started = step(["stap-start-server", "--address", "127.0.0.1"], env)
        if started.returncode != 0:
            print("demo: the server did not start", file=sys.stderr)
            return 1
        pid = int(started.stdout.strip())
        port = json.loads((root / "run" / f"{pid}.json").read_text())["port"]
        client = ["stap-client", f"--server=127.0.0.1:{port}"]
        if pass5_runtimes()[0] != "python":
            # a machine that runs kernel modules: stap-client would ask for one
            print("(this machine runs SystemTap's kernel modules: asking for the python runtime)")
            client.append("--runtime=python")
        try:
            hello = step([*client, "-e", HELLO], env)
        finally:
            stopped = step(["stap-stop-server", str(pid)], env)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if hello.returncode != 0 or hello.stdout != "Hello World!\n":
            print("demo: the client did not print 'Hello World!'", file=sys.stderr)
            return 1
        if stopped.returncode != 0:
            print("demo: the server did not stop", file=sys.stderr)
            return 1
    print("demo: ok (server started, script compiled remotely and run here, server stopped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

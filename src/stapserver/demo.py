"""``make demo``: the main job, end to end.

Runs the hello-world script of the man page through ``pystap`` (passes 1–5 with the
python runtime) and shows each step as a command a user could type.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'


def step(argv: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    shown = " ".join(shlex.quote(a) for a in ["pystap", *argv[3:]])
    print(f"$ {shown}", flush=True)
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result


def main() -> int:
    pystap = [sys.executable, "-m", "stapserver.cli.pystap"]
    with tempfile.TemporaryDirectory(prefix="stapserver-demo-") as tmp:
        result = step([*pystap, "-e", HELLO], tmp)
        if result.returncode != 0 or result.stdout != "Hello World!\n":
            print("demo: the hello-world script did not print 'Hello World!'", file=sys.stderr)
            return 1
        built = step([*pystap, "-p4", "-m", "hello", "-e", HELLO], tmp)
        module = Path(tmp) / built.stdout.strip()
        if built.returncode != 0 or not module.is_file():
            print("demo: pass 4 did not write the module", file=sys.stderr)
            return 1
        print(f"(pass 4 wrote {module.name}: {module.stat().st_size} bytes of Python)")
    print("demo: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

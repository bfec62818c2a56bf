"""``make demo`` runs the main job: server started, hello world compiled remotely and run
here, server stopped."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_on_a_machine_without_systemtap(tmp_path: object) -> None:
    env = dict(os.environ)
    env["SYSTEMTAP_STAPRUN"] = "/nonexistent/staprun"  # as on a fresh machine
    result = subprocess.run(
        [sys.executable, "-m", "stapserver.demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "$ stap-start-server --address 127.0.0.1" in lines
    client = [ln for ln in lines if ln.startswith("$ stap-client")]
    assert client and client[0].endswith("-e 'probe begin { printf(\"Hello World!\\n\"); exit() }'")
    assert "--runtime" not in client[0]
    assert "Hello World!" in lines
    assert any(ln.startswith("$ stap-stop-server ") for ln in lines)
    assert lines[-1].startswith("demo: ok")

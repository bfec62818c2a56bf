"""server.builds: no build outlives its server, and what a killed server left is
removed at the next start (issue 11, 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stapserver.server import builds

DAEMON = """
import asyncio, sys
from pathlib import Path
from stapserver.server import builds
work = Path(sys.argv[1])
print("building", flush=True)
asyncio.run(builds.run_build(work, work / "out", work / "err", [], "r", "a", {}, 60,
                             ["/bin/sleep", "60"]))
"""


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def test_a_build_dies_with_a_killed_server(tmp_path: Path) -> None:
    daemon = subprocess.Popen(
        [sys.executable, "-c", DAEMON, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert daemon.stdout is not None and daemon.stdout.readline() == "building\n"
    deadline = time.monotonic() + 10
    build: list[int] = []
    while not build and time.monotonic() < deadline:
        build = children_of(daemon.pid)
        time.sleep(0.02)
    assert build, "no build started"
    os.kill(daemon.pid, signal.SIGKILL)
    daemon.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{build[0]}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    alive = Path(f"/proc/{build[0]}/status")
    assert not alive.exists() or "State:\tZ" in alive.read_text(), "the build outlived its server"


def test_stale_build_folders_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{builds.job_prefix(dead.pid)}abc"
    (stale / "work").mkdir(parents=True)
    (stale / "work" / "f").write_text("x")
    mine = tmp_path / f"{builds.job_prefix()}def"  # this process runs: kept
    mine.mkdir()
    other = tmp_path / "stapserver-tls-xyz"  # not a build folder: kept
    other.mkdir()
    unrelated = tmp_path / "something-else"
    unrelated.mkdir()
    assert builds.remove_stale_jobs(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [mine.name, other.name, unrelated.name]
    )

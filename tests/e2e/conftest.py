"""Fixtures for end-to-end tests: the real commands, run as processes, in a private
environment (their own SystemTap folder, sysconfdir and run directory), talking over
loopback only."""

from __future__ import annotations

import atexit
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stapserver.trust import database

if TYPE_CHECKING:
    from .netns import Lan

BIN = Path(sys.executable).parent


@dataclass
class Env:
    """A private world for the commands: HOME, SYSTEMTAP_DIR, sysconfdir, run dir."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    uid: int = field(default_factory=os.geteuid)  # who runs the commands

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def systemtap_dir(self) -> Path:
        return self.home / ".systemtap"

    @property
    def sysconfdir(self) -> Path:
        return self.root / "etc"

    def server_db(self) -> Path:
        if self.uid == 0:
            return self.sysconfdir / "systemtap" / "ssl" / "server"
        return self.systemtap_dir / "ssl" / "server"

    def client_db(self) -> Path:
        if self.uid == 0:
            return self.sysconfdir / "systemtap" / "ssl" / "client"
        return self.systemtap_dir / "ssl" / "client"

    def run(
        self,
        command: str,
        *args: str,
        input: bytes | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        env = dict(self.env)
        if extra_env:
            env.update(extra_env)
        return subprocess.run(
            [str(BIN / command), *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            cwd=cwd or self.root,
            env=env,
            timeout=timeout,
        )


def make_env(root: Path, user: str | None = None) -> Env:
    """A private world under ``root``; with ``user``, one that user owns and runs its
    commands in, seeing the machine's own SystemTap as that user does (no staprun for
    one outside group stapusr)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "home").mkdir(exist_ok=True)
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(root / "home"),
        "SYSTEMTAP_DIR": str(root / "home" / ".systemtap"),
        "STAPSERVER_SYSCONFDIR": str(root / "etc"),
        "STAPSERVER_RUNDIR": str(root / "run"),
        "LANG": "C.UTF-8",
    }
    if user is None:
        # a machine without SystemTap: clients default to the python runtime
        env["SYSTEMTAP_STAPRUN"] = str(root / "no-staprun")
        return Env(root, env)
    pw = pwd.getpwnam(user)
    subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(root)], check=True)
    return Env(root, env, pw.pw_uid)


TEST_USER = "stapserver-test"
_opened: list[tuple[Path, int]] = []


def _reachable_by_everyone() -> None:
    """Let an ordinary user reach the interpreter and the project: directories on the
    way to them without search permission for others (``/root``, when Python comes
    from root's pyenv) get it (``o+x``: traverse, not list) until the session ends."""
    import stapserver

    needed = [
        Path(os.path.realpath(sys.executable)),
        Path(sys.base_prefix),
        Path(sys.prefix),
        Path(stapserver.__file__).resolve().parent,
    ]
    for path in needed:
        for folder in reversed(path.parents):
            mode = folder.stat().st_mode
            if not mode & 0o001 and all(folder != f for f, _ in _opened):
                _opened.append((folder, mode))
                folder.chmod(mode | 0o001)
    if _opened:
        atexit.register(_restore)


def _restore() -> None:
    while _opened:
        folder, mode = _opened.pop()
        folder.chmod(mode & 0o7777)


def ordinary_user() -> str:
    """An ordinary user (not root, in no SystemTap group) to run commands as; created
    when missing (root only)."""
    if not _opened:
        _reachable_by_everyone()
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             "--user-group", TEST_USER],
            check=True, capture_output=True,
        )  # fmt: skip
    return TEST_USER


@pytest.fixture(scope="session")
def server_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A server database made once per session (2048-bit key: fast to make)."""
    folder = tmp_path_factory.mktemp("template") / "server"
    database.load_or_create_server_identity(folder, key_bits=2048)
    return folder


@pytest.fixture
def env(tmp_path: Path, server_db_template: Path) -> Env:
    e = make_env(tmp_path / "world")
    target = e.server_db()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(server_db_template, target)
    return e


@dataclass
class Server:
    pid: int
    port: int
    env: Env
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def requests_logged(self) -> list[str]:
        """The log's lines of answered requests (not its other notices)."""
        return [line for line in self.log.read_text().splitlines() if " rc=" in line]

    def request_line(self, index: int) -> str:
        """Request ``index``'s log line (0 the first): the server writes it once the
        connection is closed, so the client may be back first; wait up to 10 s."""
        deadline = time.monotonic() + 10
        while True:
            lines = self.requests_logged()
            if len(lines) > index or time.monotonic() > deadline:
                return lines[index] if len(lines) > index else ""
            time.sleep(0.01)

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return False
        return "State:\tZ" not in status

    def stop(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.alive():
                os.kill(self.pid, signal.SIGKILL)


def start_server(env: Env, *args: str) -> Server:
    log = env.root / f"server-{len(list(env.root.glob('server-*.log')))}.log"
    result = env.run("stap-start-server", "--address", "127.0.0.1", "--log", str(log), *args)
    assert result.returncode == 0, result.stderr.decode()
    pid = int(result.stdout.decode().strip())
    status = json.loads((env.root / "run" / f"{pid}.json").read_text())
    return Server(pid, status["port"], env, log)


@pytest.fixture
def server(env: Env) -> Iterator[Server]:
    s = start_server(env, "--read-timeout", "3")
    yield s
    s.stop()


@pytest.fixture
def lan(tmp_path: Path) -> Iterator[Lan]:
    """A network of namespaces for one test (skipped without root, unless
    STAPSERVER_REQUIRE_NETNS makes that a failure)."""
    from .netns import Lan, netns_available

    why = netns_available()
    if why:
        if os.environ.get("STAPSERVER_REQUIRE_NETNS"):
            pytest.fail(f"network namespaces are required here: {why}")
        pytest.skip(why)
    net = Lan(tmp_path)
    try:
        yield net
    finally:
        net.close()

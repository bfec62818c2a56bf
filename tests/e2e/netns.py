"""A local network made of network namespaces, for discovery tests.

``Lan`` creates a switch (a namespace holding a bridge) and hosts (a namespace each,
joined to the switch by a veth pair, addresses in 198.18.0.0/24, IPv6 link-local too).
Each host runs the commands under its own host name (a UTS namespace) and in its own
private world (SystemTap folder, sysconfdir, run directory).  No traffic leaves the
namespaces: they have no route anywhere else.  Needs root, as CI has.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .conftest import BIN, Env, make_env, ordinary_user

NET = "198.18.0"


def netns_available() -> str:
    """Why namespaces cannot be used here, or "" if they can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"needs the {tool} command"
    probe = f"stapprobe{uuid.uuid4().hex[:6]}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if r.returncode != 0:
        return f"cannot create a network namespace: {r.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return ""


def _ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.decode().strip()}")


@dataclass
class Host:
    lan: Lan
    name: str  # the host name its commands see
    ns: str
    iface: str
    address: str
    env: Env
    user: str | None = None  # commands run as this ordinary user (else as root)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def argv(self, command: str, *args: str) -> list[str]:
        program = command if command.startswith("/") else str(BIN / command)
        become: list[str] = []
        if self.user is not None:
            become = ["setpriv", f"--reuid={self.user}", f"--regid={self.user}", "--init-groups"]
        return [
            "ip", "netns", "exec", self.ns,
            "unshare", "--uts", "sh", "-c", f'hostname {self.name} && exec "$@"', "sh",
            *become, program, *args,
        ]  # fmt: skip

    def run(
        self,
        command: str,
        *args: str,
        timeout: float = 120,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        env = dict(self.env.env)
        env.update(extra_env or {})
        return subprocess.run(
            self.argv(command, *args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            cwd=self.env.root,
            timeout=timeout,
        )

    def start_server(self, *args: str) -> HostServer:
        """stap-start-server on this host; its PID and port."""
        log = self.env.root / f"server-{len(list(self.env.root.glob('server-*.log')))}.log"
        r = self.run("stap-start-server", "--key-bits", "2048", "--log", str(log), *args)
        assert r.returncode == 0, r.stderr.decode()
        pid = int(r.stdout.decode().strip())
        status = json.loads((self.env.root / "run" / f"{pid}.json").read_text())
        server = HostServer(self, pid, int(status["port"]), log)
        self.lan.servers.append(server)
        return server

    def cert(self) -> Path:
        return self.env.server_db() / "stap.cert"

    def trust(self, other: Host) -> None:
        """This host's user trusts ``other``'s server certificate."""
        r = self.run("stap-add-server-cert", str(other.cert()), str(self.env.client_db()))
        assert r.returncode == 0, r.stderr.decode()


@dataclass
class HostServer:
    host: Host
    pid: int
    port: int
    log: Path

    def alive(self) -> bool:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return False
        return "State:\tZ" not in status

    def stop(self, timeout: float = 30) -> None:
        if self.alive():
            os.kill(self.pid, 15)
            deadline = time.monotonic() + timeout
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.alive():
                os.kill(self.pid, 9)

    def wait_advertised(self, timeout: float = 20) -> None:
        """Until the server's log says it advertised (after mDNS name probing)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.exists() and "advertised " in self.log.read_text():
                return
            if not self.alive():
                raise AssertionError(f"server {self.pid} died: {self.log.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"server {self.pid} did not advertise: {self.log.read_text()}")


class Lan:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tag = uuid.uuid4().hex[:5]
        self.switch = f"ss{self.tag}"
        self.hosts: list[Host] = []
        self.servers: list[HostServer] = []
        self.shared: list[Path] = []  # ordinary users' worlds, removed on close
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        _ip("-n", self.switch, "link", "set", "br0", "up")

    def add_host(self, name: str, *, ordinary: bool = False) -> Host:
        """A host; ``ordinary``: its commands run as an ordinary user, in a world that
        user owns (outside pytest's private folders, which only root may enter)."""
        n = len(self.hosts) + 1
        ns = f"sh{self.tag}{n}"
        _ip("netns", "add", ns)
        inside, outside = f"h{self.tag}{n}", f"p{self.tag}{n}"
        _ip("link", "add", inside, "netns", ns, "type", "veth", "peer", "name", outside,
            "netns", self.switch)  # fmt: skip
        _ip("-n", self.switch, "link", "set", outside, "master", "br0")
        _ip("-n", self.switch, "link", "set", outside, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        address = f"{NET}.{n}"
        _ip("-n", ns, "addr", "add", f"{address}/24", "dev", inside)
        _ip("-n", ns, "link", "set", inside, "up")
        user = ordinary_user() if ordinary else None
        root = self.root / name
        if user is not None:
            root = Path(tempfile.mkdtemp(prefix=f"stap-{name}-", dir="/tmp"))
            root.chmod(0o755)
            self.shared.append(root)
        env = make_env(root, user)
        host = Host(self, name, ns, inside, address, env, user)
        self.hosts.append(host)
        return host

    def link_local(self, host: Host, timeout: float = 10) -> str:
        """The host's IPv6 link-local address, once duplicate detection is done."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["ip", "-n", host.ns, "-6", "addr", "show", "dev", host.iface],
                capture_output=True, text=True,
            ).stdout  # fmt: skip
            for line in out.splitlines():
                line = line.strip()
                if line.startswith("inet6 fe80:") and "tentative" not in line:
                    return line.split()[1].split("/")[0]
            time.sleep(0.1)
        raise AssertionError(f"no IPv6 link-local address on {host.name}")

    def close(self) -> None:
        for s in self.servers:
            s.stop(timeout=10)
        for h in self.hosts:
            # whatever still runs in the namespace (daemons a test started) goes with it
            pids = subprocess.run(["ip", "netns", "pids", h.ns], capture_output=True, text=True)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            subprocess.run(["ip", "netns", "del", h.ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.switch], capture_output=True)
        for root in self.shared:
            shutil.rmtree(root, ignore_errors=True)

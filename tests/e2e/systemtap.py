"""Real SystemTap for interoperability tests: Debian's stap 4.8, the kernel headers'
release, the runtime fix that lets 4.8 build kernel modules against those headers,
SystemTap's own server run as an unprivileged user, avahi in a namespace.

See ``../shared/reference/real-systemtap-on-debian.md``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .netns import Host

STAP_SERVERD = Path("/usr/lib/systemtap/stap-serverd")
RUNTIME = Path("/usr/share/systemtap/runtime")


def headers_release() -> str | None:
    """The kernel release whose build tree Debian's linux-headers package installed."""
    try:
        names = sorted(p.name for p in Path("/lib/modules").iterdir())
    except OSError:
        return None
    for name in names:
        if (Path("/lib/modules") / name / "build").exists():
            return name
    return None


def systemtap_missing() -> str:
    """What is missing for the interoperability tests, or ""."""
    if shutil.which("stap") is None:
        return "SystemTap (stap) is not installed"
    if headers_release() is None:
        return "no kernel build tree (linux-headers-amd64)"
    if not STAP_SERVERD.exists():
        return "SystemTap's server (systemtap-server) is not installed"
    if shutil.which("certutil") is None:
        return "certutil (libnss3-tools) is not installed"
    return ""


def shared_dir(prefix: str) -> Path:
    """A folder every user can read (pytest's are root's alone): for ``nobody``."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def runtime_fix(where: Path) -> Path:
    """SystemTap 4.8's runtime with the task_work fix for these kernel headers."""
    target = where / "runtime"
    shutil.copytree(RUNTIME, target)
    path = target / "stp_task_work.c"
    text = path.read_text()
    text = text.replace("typeof(&task_work_cancel)", "typeof(&task_work_cancel_func)")
    text = text.replace('"task_work_cancel"', '"task_work_cancel_func"')
    path.write_text(text)
    subprocess.run(["chmod", "-R", "a+rX", str(where)], check=True)
    return target


def stap(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    return subprocess.run(
        ["stap", *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


NOISE = (
    "Tip: ",
    "Passes: via server",
    "Keeping temporary directory",
    "Try '--help' for more information.",
    "A message like [man foo] means",
)


def without_noise(stderr: bytes) -> list[str]:
    """stderr lines that say something about the script (not SystemTap's tips, the
    pointers to its manual after a usage error, and the client's closing remarks): a
    usage error of ours is one line where stap adds "Try '--help' …" and a note on
    "[man foo]"."""
    keep = []
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith(NOISE):
            continue
        keep.append(line)
    return keep


def compiler_errors(stderr: bytes) -> list[str]:
    """The compiler's error lines, with the build folder's path taken off."""
    out = []
    for line in stderr.decode(errors="replace").splitlines():
        if ": error: " in line:
            out.append(re.sub(r"^\S*/", "", line))
    return out


@dataclass
class AvahiHost:
    """A host of the namespaced LAN with its own dbus and avahi-daemon (a private /run
    in a mount namespace of its own); commands reach them with :meth:`argv`."""

    host: Host
    proc: subprocess.Popen[bytes]
    pid: int  # of a process inside the mount namespace

    def argv(self, *command: str) -> list[str]:
        return [
            "nsenter", f"--mount=/proc/{self.pid}/ns/mnt", f"--net=/proc/{self.pid}/ns/net",
            f"--uts=/proc/{self.pid}/ns/uts", *command,
        ]  # fmt: skip

    def run(self, *command: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
        return subprocess.run(
            self.argv(*command), capture_output=True, stdin=subprocess.DEVNULL,
            env=env, timeout=timeout,
        )  # fmt: skip

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


AVAHI_SCRIPT = """
set -e
hostname "$1"
mount -t tmpfs tmpfs /run
mkdir -p /run/dbus /run/avahi-daemon
dbus-daemon --system --fork
avahi-daemon --daemonize --no-chroot --no-rlimits
for i in $(seq 1 100); do
  [ -e /run/avahi-daemon/socket ] && break
  sleep 0.1
done
echo ready $$
exec sleep 100000
"""


def start_avahi(host: Host) -> AvahiHost:
    if shutil.which("avahi-daemon") is None or shutil.which("dbus-daemon") is None:
        raise AssertionError("avahi-daemon and dbus are needed (apt-get install avahi-daemon)")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", host.ns, "unshare", "--mount", "--uts", "--propagation",
         "private", "sh", "-c", AVAHI_SCRIPT, "sh", host.name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("ready "):
        proc.kill()
        raise AssertionError(f"avahi did not start: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
    return AvahiHost(host, proc, int(line.split()[1]))


@dataclass
class TheirServer:
    """SystemTap's stap-serverd, as ``nobody``, in a namespace."""

    home: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def cert(self) -> Path:
        return self.home / ".systemtap" / "ssl" / "server" / "stap.cert"

    @property
    def log(self) -> Path:
        return self.home / "log"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_their_server(
    enter: list[str], release: str, port: int, *options: str, check: list[str] | None = None
) -> TheirServer:
    """``enter``: the command prefix that puts it in its namespace; ``check``: a command
    prefix (in the same namespace) to test that the port accepts."""
    base = shared_dir("their-server-")
    home = base / "home"
    home.mkdir()
    shutil.chown(home, "nobody", "nogroup")
    proc = subprocess.Popen(
        [*enter, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         "env", f"HOME={home}", str(STAP_SERVERD), "-r", release, "--port", str(port),
         "--log", str(home / "log"), *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    server = TheirServer(home, port, proc)
    deadline = time.monotonic() + 120
    probe = [*(check or enter), "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"]
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"stap-serverd exited: {server.log.read_text()}")
        if server.cert.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
            return server
        time.sleep(0.2)
    server.stop()
    raise AssertionError(f"stap-serverd did not start: {server.log.read_text()}")


def env_with(**values: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env.update(values)
    return env

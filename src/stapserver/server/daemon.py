"""The compile server: TLS connections in, signed response archives out.

One request per connection: a 4-byte length, the request archive; the response archive
back, then the connection closes (a length of 0 asks only for the certificate, which
the TLS handshake has already shown).  Each build runs in a process of its own, in a
private folder removed afterwards, at most ``max_threads`` at once.  A read timeout on
every connection, size limits checked before anything is unpacked, and errors answered
with an error response: a client that stalls, lies or disconnects costs only its own
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..discovery.advertise import Advertiser, Identity, hostname
from ..errors import ProtocolError, ServerError, StapError, TrustError
from ..files import write_atomic
from ..frontend.options import Options, parse_options
from ..hostinfo import normalized_arch
from ..protocol import archive, framing
from ..protocol import request as req_mod
from ..protocol import response as resp_mod
from ..trust import certs, database, nss, signing
from ..trust.clients import allowed_clients
from ..trust.database import ServerIdentity
from . import builds, worker
from .targets import make_backend

MAX_MODULE_BYTES = 256 * 1024 * 1024
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
NOT_LISTED = (
    "stap-serverd: this server serves listed clients only (--allow-client): give "
    "stap-client --client-cert=FILE with a certificate it lists"
)
ANNOUNCE_TIMEOUT = 20.0  # multicast DNS probing takes about a second per clash


@dataclass
class ServerConfig:
    address: str = ""  # all interfaces
    port: int = 0  # random
    max_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    log: Path | None = None
    max_request_size: int = archive.Limits().max_uncompressed
    max_compressed_request: int = archive.Limits().max_compressed
    read_timeout: float = 30.0
    build_timeout: float = 300.0
    shutdown_timeout: float = 30.0
    db_dir: Path | None = None
    key_bits: int = 4096
    cache_bytes: int = 64 * 1024 * 1024  # responses kept for identical requests
    advertise: bool = True  # DNS-SD on the local network
    releases: list[str] = field(default_factory=list)  # -r: more kernels for stap
    stap_options: list[str] = field(default_factory=list)  # -R -B -D -I given to stap
    use_stap: bool = True  # build kernel and BPF modules with SystemTap when installed
    allow_clients: list[Path] = field(default_factory=list)  # mutual TLS: these only

    @property
    def limits(self) -> archive.Limits:
        return archive.Limits(
            max_compressed=self.max_compressed_request,
            max_uncompressed=self.max_request_size,
        )


def status_dir() -> Path:
    """Where running servers describe themselves (one JSON file per server):
    ``$STAPSERVER_RUNDIR``, else ``/run/stapserver`` for root and
    ``$SYSTEMTAP_DIR/stapserver/servers`` for a user."""
    env = os.environ.get("STAPSERVER_RUNDIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/run/stapserver")
    return database.systemtap_dir() / "stapserver" / "servers"


def tls_context(
    identity: ServerIdentity, allowed: dict[str, bytes] | None = None
) -> ssl.SSLContext:
    """The server side of TLS.  Python's ssl loads a certificate from PEM only, and the
    database keeps it as DER (as SystemTap does): hand it over through a private file.
    With ``allowed`` client certificates (``--allow-client``), every client must show one
    of them: each is its own trust anchor (self-signed, as clients' usually are)."""
    from cryptography.hazmat.primitives import serialization

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    key_pem = identity.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with tempfile.TemporaryDirectory(prefix="stapserver-tls-") as tmp:
        path = Path(tmp) / "identity.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(certs.pem(identity.cert) + key_pem)
        ctx.load_cert_chain(str(path))
    if allowed:
        # asked, and checked against the list when shown; a client that shows none is
        # told why in an answer (a handshake refused for it says nothing under TLS 1.3)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        ctx.load_verify_locations(cadata=b"".join(allowed.values()))
    return ctx


def _error_response(message: str) -> resp_mod.Response:
    return resp_mod.Response(rc=1, stderr=message.encode() + b"\n")


class CompileServer:
    def __init__(self, config: ServerConfig, identity: ServerIdentity) -> None:
        self.config = config
        self.identity = identity
        self.slots = asyncio.Semaphore(config.max_threads)
        self.active = 0
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._log_file = None
        if config.log is not None:
            try:
                # nothing logged is ever an encoding error (see log())
                self._log_file = open(  # noqa: SIM115 - closed in stop()
                    config.log, "a", buffering=1, encoding="utf-8", errors="backslashreplace"
                )
            except OSError as err:
                raise ServerError(f"cannot open log file {config.log}: {err.strerror}") from None
        self._cache: OrderedDict[bytes, tuple[int, bytes]] = OrderedDict()
        self._cache_size = 0
        self.allowed = allowed_clients(config.allow_clients) if config.allow_clients else {}
        self.backend = make_backend(
            config.releases,
            config.stap_options,
            normalized_arch(),
            os.uname().release,
            config.use_stap,
        )
        # called when the number of free build slots changes (the advertisement)
        self.on_slots_changed: Callable[[], None] = lambda: None

    @property
    def free_slots(self) -> int:
        return max(0, self.config.max_threads - self.active)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> int:
        try:
            sock = _listening_socket(self.config.address, self.config.port)
            self.server = await asyncio.start_server(
                self._connection,
                sock=sock,
                ssl=tls_context(self.identity, self.allowed),
                ssl_handshake_timeout=self.config.read_timeout,
            )
        except OSError as err:
            where = f"{self.config.address or '*'}:{self.config.port}"
            hint = {
                errno.EADDRINUSE: " (another --port, or none: a free one is chosen)",
                errno.EADDRNOTAVAIL: " (--address must be one of this machine's addresses)",
                errno.EACCES: " (ports below 1024 are root's: another --port)",
            }.get(err.errno or 0, "")
            raise ServerError(f"cannot listen on {where}: {err.strerror}{hint}") from None
        sock = self.server.sockets[0]
        self.port = sock.getsockname()[1]
        self.log(f"listening on port {self.port} (pid {os.getpid()}, stapserver {__version__})")
        return self.port

    async def stop(self) -> None:
        """Stop accepting, let the requests in flight finish (bounded), close."""
        if self.server is not None:
            self.server.close()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.config.shutdown_timeout)
            for task in pending:
                task.cancel()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 5)
        self.log("stopped")
        if self._log_file is not None:
            self._log_file.close()

    def log(self, text: str) -> None:
        if self._log_file is not None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            # arguments came as bytes: those that were not UTF-8 are logged as \xNN (other
            # lone surrogates stay, for the file's own escaping)
            with contextlib.suppress(UnicodeError):
                text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            with contextlib.suppress(OSError, ValueError):  # a log never stops a request
                self._log_file.write(f"{stamp} {text}\n")

    # ------------------------------------------------------------------ requests
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        client = f"{peer[0]}:{peer[1]}" if peer else "?"
        unlisted = False  # a client without a listed certificate (--allow-client)
        if self.allowed:  # the handshake refused any other certificate
            shown = writer.get_extra_info("ssl_object")
            der = shown.getpeercert(binary_form=True) if shown is not None else None
            sha = hashlib.sha256(der).hexdigest() if der else ""
            unlisted = sha not in self.allowed
            client += " (no client certificate)" if unlisted else f" (client {sha[:16]})"
        started = time.monotonic()
        summary = "-"
        runtime = "-"
        rc: int | str = "-"
        try:
            header = await _read(reader, framing.HEADER_SIZE, self.config.read_timeout)
            if isinstance(header, str):
                rc = header
                return
            try:
                length = framing.decode_length(header, self.config.max_compressed_request)
            except ProtocolError as err:
                rc = "refused"
                await self._send(writer, _error_response(f"stap-serverd: {err}"))
                summary = str(err)
                return
            if length == 0:
                rc = "certificate"
                return
            payload = await _read(reader, length, self.config.read_timeout)
            if isinstance(payload, str):
                rc = payload
                return
            if unlisted:  # told why, in the protocol's own way, once its request is read
                rc = "refused"
                summary = "not a listed client"
                await self._send(writer, _error_response(NOT_LISTED))
                return
            try:
                request = req_mod.decode(payload, self.config.limits)
            except ProtocolError as err:
                rc = "refused"
                summary = str(err)
                await self._send(writer, _error_response(f"stap-serverd: bad request: {err}"))
                return
            summary = " ".join(shlex.quote(a) for a in request.argv)
            options = parsed(request.argv)  # once: for the runtime and the cache key
            runtime = request_runtime(options, self.backend.stap is not None)
            refusal = self.backend.refusal(runtime, request.release)
            key = None
            if self.config.cache_bytes > 0:  # else nothing is kept: no key to work out
                state = b""
                if runtime != "python" and refusal is None:
                    state = await asyncio.to_thread(self.backend.state, request.release)
                key = cache_key(request, options, state)
            cached = self._cache_get(key)
            if cached is not None:
                rc, data = cached
                runtime += " cached"
            else:
                async with self.slots:
                    self.active += 1
                    self.on_slots_changed()
                    try:
                        response = await self.build(request, runtime, refusal)
                    finally:
                        self.active -= 1
                        self.on_slots_changed()
                rc = response.rc
                data = self._encode(response)
                self._cache_put(key, response.rc, data)
            await self._write(writer, data)
        except Exception as err:
            rc = "error"
            summary = f"internal error: {type(err).__name__}: {err}"
        finally:
            # the connection ends whatever else fails: a client must never wait forever
            with contextlib.suppress(Exception):
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 5)
            self._tasks.discard(task)
            ms = int((time.monotonic() - started) * 1000)
            self.log(f"{client} rc={rc} runtime={runtime} {ms}ms args: {summary}")

    def _encode(self, response: resp_mod.Response) -> bytes:
        key = self.identity.key
        return resp_mod.encode(response, sign=lambda blob: signing.sign(key, blob))

    async def _send(self, writer: asyncio.StreamWriter, response: resp_mod.Response) -> None:
        await self._write(writer, self._encode(response))

    def _cache_get(self, key: bytes | None) -> tuple[int, bytes] | None:
        if key is None or key not in self._cache:
            return None
        self._cache.move_to_end(key)
        return self._cache[key]

    def _cache_put(self, key: bytes | None, rc: int, data: bytes) -> None:
        if key is None or len(data) > self.config.cache_bytes // 4:
            return
        self._cache[key] = (rc, data)
        self._cache_size += len(data)
        while self._cache_size > self.config.cache_bytes and self._cache:
            _, (_, old) = self._cache.popitem(last=False)
            self._cache_size -= len(old)

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        try:
            writer.write(data)
            await asyncio.wait_for(writer.drain(), self.config.read_timeout)
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, TimeoutError, ssl.SSLError, RuntimeError):
            pass

    async def build(
        self, request: req_mod.Request, runtime: str, refusal: str | None
    ) -> resp_mod.Response:
        """The response to ``request`` for ``runtime`` (its refusal, if it has one)."""
        if refusal is not None:
            return _error_response(refusal)
        job = Path(tempfile.mkdtemp(prefix=builds.job_prefix()))
        try:
            work = job / "work"
            work.mkdir()
            try:
                _unpack(work, request.files)
            except ProtocolError as err:
                return _error_response(f"stap-serverd: bad request: {err}")
            (work / worker.MODULE_DIR).mkdir()
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work)}
            env.update(request.locale)
            out, errs = job / "stdout", job / "stderr"
            command = None
            if runtime != "python":  # SystemTap builds it
                command = self.backend.command(
                    request.release, work / worker.MODULE_DIR, request.argv
                )
            result = await builds.run_build(
                work,
                out,
                errs,
                request.argv,
                request.release,
                request.arch,
                env,
                self.config.build_timeout,
                command,
            )
            stdout = _read_capped(out)
            stderr = _read_capped(errs)
            if result.timed_out:
                stderr += (
                    f"stap-serverd: the build took longer than {self.config.build_timeout:.0f} s "
                    "and was stopped\n"
                ).encode()
            elif result.killed_by is not None:
                stderr += (
                    f"stap-serverd: the build was killed by signal {result.killed_by}\n".encode()
                )
            modules = _collect_modules(work / worker.MODULE_DIR, self.identity)
            return resp_mod.Response(
                rc=result.status, stdout=stdout, stderr=stderr, module_files=modules
            )
        finally:
            shutil.rmtree(job, ignore_errors=True)


async def _read(reader: asyncio.StreamReader, n: int, timeout: float) -> bytes | str:
    """Exactly ``n`` bytes within ``timeout``, or why not: "closed" or "timeout"."""
    try:
        return await asyncio.wait_for(reader.readexactly(n), timeout)
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        return "closed"
    except TimeoutError:
        return "timeout"


def _listening_socket(address: str, port: int) -> socket.socket:
    """One socket, so one port: for all interfaces a dual-stack IPv6 socket (IPv4
    clients included), or IPv4 alone where the machine has no IPv6."""
    if address in ("", "::"):
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        except OSError:
            if address == "::":
                raise
            return _listening_socket("0.0.0.0", port)
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("::", port))
        except OSError:
            sock.close()
            raise
    else:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, where = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(where)
        except OSError:
            sock.close()
            raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _read_capped(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(MAX_OUTPUT_BYTES)
    except OSError:
        return b""


def parsed(argv: list[str]) -> Options | None:
    """A request's command line read as the front end reads it; None if it does not
    parse (the build will say why)."""
    try:
        return parse_options(list(argv))
    except StapError:
        return None


def cache_key(
    request: req_mod.Request, options: Options | None, backend_state: bytes = b""
) -> bytes | None:
    """Identical requests get identical responses (the build is deterministic), except
    with -v, whose lines report times and memory: those are never cached, nor is a
    command line that does not parse (``options`` None).  For a build by SystemTap,
    ``backend_state`` stands for what else goes into it (stap, its runtime and tapsets,
    the kernel build tree): a change there is a new key."""
    if options is None or options.verbose:
        return None
    h = hashlib.sha256()
    for part in (__version__, request.release, request.arch, *request.argv):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    for name in sorted(request.locale):
        h.update(f"{name}={request.locale[name]}\0".encode())
    for name in sorted(request.files):
        h.update(name.encode("utf-8", "surrogateescape") + b"\0")
        h.update(hashlib.sha256(request.files[name]).digest())
    h.update(backend_state)
    return h.digest()


def request_runtime(options: Options | None, stap_builds: bool) -> str:
    """The runtime a request asks for, as the front end read it (``--runtime X``,
    ``--runtime=X``, abbreviations, the last one given: :func:`parsed`), else
    SystemTap's default.  A command line that does not parse (None) goes to the
    translator that will say what is wrong with it: stap where the server has it, else
    ours."""
    if options is None:
        return "kernel" if stap_builds else "python"
    return options.runtime or "kernel"


def _unpack(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        archive.check_name(name)
        path = root / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "xb") as f:
                f.write(data)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise ProtocolError(f"request entry {name!r} clashes with another entry") from None


def _collect_modules(folder: Path, identity: ServerIdentity) -> dict[str, bytes]:
    """The built module files, each with its ``.sgn`` signature."""
    modules: dict[str, bytes] = {}
    total = 0
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.is_symlink() or path.suffix not in resp_mod.MODULE_KINDS:
            continue  # stap's build files (.c, .h, ...) stay here
        data = path.read_bytes()
        total += len(data)
        if total > MAX_MODULE_BYTES:
            break
        modules[path.name] = data
        modules[path.name + signing.SIGNATURE_SUFFIX] = signing.sign(identity.key, data)
    return modules


# ---------------------------------------------------------------------- running


def write_status(config: ServerConfig, identity: ServerIdentity, port: int) -> Path:
    folder = status_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{os.getpid()}.json"
    info: dict[str, Any] = {
        "pid": os.getpid(),
        "port": port,
        "address": config.address,
        "certificate": str(identity.cert_path),
        "fingerprint": certs.fingerprint(identity.cert),
        "version": __version__,
    }
    write_atomic(path, (json.dumps(info, indent=1) + "\n").encode())
    return path


async def serve(config: ServerConfig, ready_fd: int | None = None) -> int:
    """Run a server until SIGTERM/SIGINT; 0 on a clean stop."""
    db = config.db_dir or database.server_db_dir()
    identity, action = database.load_or_create_server_identity(db, key_bits=config.key_bits)
    stale = builds.remove_stale_jobs(Path(tempfile.gettempdir()))
    # the user who starts a server trusts it
    user_db = database.user_client_db_dir()
    database.add_trusted(user_db, identity.cert)
    try:  # and SystemTap's client, through its NSS database
        nss.add(user_db, identity.cert)
    except TrustError as err:
        nss_problem: str | None = str(err)
    else:
        nss_problem = None
    server = CompileServer(config, identity)
    port = await server.start()
    server.log(
        f"certificate {action}: {identity.cert_path} (SHA-256 {certs.fingerprint(identity.cert)})"
    )
    if nss_problem is not None:
        server.log(f"SystemTap's client of this user will not trust it: {nss_problem}")
    for folder in stale:
        server.log(f"removed {folder}, left by a server that was killed")
    status = write_status(config, identity, port)
    advertiser = _advertiser(config, server, port) if config.advertise else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    if ready_fd is not None:
        # ready means findable: the next command on the network must see the server
        note = ""
        if advertiser is not None:
            why = await advertiser.wait_announced(ANNOUNCE_TIMEOUT)
            if why is not None:
                note = f" {why}"
        with contextlib.suppress(OSError):
            os.write(ready_fd, f"READY {port}{note}\n".encode())
            os.close(ready_fd)
    try:
        await stop.wait()
    finally:
        if advertiser is not None:
            await advertiser.stop()  # withdrawn first: no client should pick us now
        await server.stop()
        status.unlink(missing_ok=True)
    return 0


def _advertiser(config: ServerConfig, server: CompileServer, port: int) -> Advertiser:
    """Advertise one entry per kernel release SystemTap builds for here; without it,
    one for the python runtime (any kernel) naming this machine's own release."""
    cert = server.identity.cert
    identity = Identity(
        hostname=hostname(),
        port=port,
        version=resp_mod.SERVER_VERSION,
        certinfo=certs.serial_text(cert),
        certsha256=certs.sha256_hex(cert),
        keysha256=certs.key_sha256_hex(cert),
        optinfo=server.backend.optinfo,
    )
    targets = server.backend.targets()
    advertiser = Advertiser(
        identity, targets, config.address, lambda: server.free_slots, server.log
    )
    server.on_slots_changed = advertiser.slots_changed
    advertiser.start()
    return advertiser

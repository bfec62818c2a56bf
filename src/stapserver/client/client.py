"""``stap-client``: passes 1–4 on a trusted compile server, pass 5 here.

The servers named with ``--server`` are tried in order; without one, the trusted
compatible servers advertised on the local network (``client/choose.py``).  A server's
certificate must be in one of the ``--ssl`` databases, the user's or the global one; its
response must carry a valid signature (our servers sign a manifest of the whole
response, and every module) before any of it is used.  Then the server's stderr and
stdout are written out, ``-p4`` leaves the module and its signature in the current
directory, and pass 5 runs the module here: python-runtime modules in this process,
kernel modules with ``staprun``, BPF programs with ``stapbpf``.
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

from ..errors import InputError, NetworkError, ProtocolError, StapError, TrustError, UsageError
from ..files import write_atomic
from ..frontend.options import Options, parse_options
from ..hostinfo import pass5_runtimes, staprun_path
from ..protocol import archive
from ..protocol import request as req_mod
from ..protocol import response as resp_mod
from ..trust import layout
from ..trust.policy import Databases, Decision, decide_presented
from .address import ServerAddress, parse_server
from .connection import exchange
from .packing import Packed, pack

if TYPE_CHECKING:  # imported when used: a request needs only what it uses
    from ..discovery.adverts import Advert, LocalNetwork
    from ..trust.signing import PublicKey

USAGE = """\
Usage: stap-client [--server=HOST[:PORT]]... [--ssl=DIRNAME]... [--client-cert=FILE]
                  [stap arguments]

Runs passes 1-4 of SystemTap on a trusted compile server and pass 5 (the module)
here: python-runtime modules in this process, kernel modules with staprun, BPF
programs with stapbpf.

   --server=HOST[:PORT]  a server to use (HOST, HOST:PORT, IPv4[:PORT], IPv6,
                         [IPv6]:PORT, [IPv6%IFACE]:PORT); several are tried in order;
                         one without a port is looked up on the local network.
                         Without --server: the trusted compatible servers found on
                         the local network, newest first, then the least busy
   --ssl=DIRNAME         a certificate database of trusted servers, searched before
                         ~/.systemtap/ssl/client and $sysconfdir/systemtap/ssl/client
   --client-cert=FILE    a PEM file with this client's certificate and key, for a
                         server that serves listed clients only (--allow-client)
   --runtime=python|kernel|bpf
                         the runtime to build for (default: python where SystemTap's
                         staprun is not installed, else kernel)

The stap arguments are those of stap(1) and pystap: -e SCRIPT, FILE, -p NUM, -v,
-m NAME, -o FILE, -c CMD, -x PID, -D NAME=VALUE, -I DIR, ...
"""

RESPONSE_LIMITS = archive.Limits(
    max_compressed=512 * 1024 * 1024, max_uncompressed=1024 * 1024 * 1024, max_entries=1000
)


class ClientArgs(NamedTuple):
    servers: list[ServerAddress]
    ssl_dirs: list[str]
    stap_args: list[str]
    client_cert: str | None = None  # for servers that serve listed clients only


def split_client_args(argv: list[str]) -> ClientArgs:
    """Take ``--server``, ``--ssl`` and ``--client-cert`` out of a stap command line
    (before a ``--``)."""
    result = ClientArgs([], [], [])
    client_cert: str | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            result.stap_args.extend(argv[i:])
            break
        for opt, target in (
            ("--server", "servers"),
            ("--ssl", "ssl_dirs"),
            ("--client-cert", "client_cert"),
        ):
            if arg == opt or arg.startswith(opt + "="):
                if arg == opt:
                    if i + 1 >= len(argv):
                        raise UsageError(f"option '{opt}' requires an argument")
                    value = argv[i + 1]
                    i += 1
                else:
                    value = arg.split("=", 1)[1]
                if target == "servers":
                    result.servers.append(parse_server(value))
                elif target == "client_cert":
                    if not value:
                        raise UsageError("--client-cert needs a file (its certificate and key)")
                    client_cert = value
                else:
                    if not value:
                        raise UsageError("--ssl needs a folder name")
                    result.ssl_dirs.append(value)
                break
        else:
            result.stap_args.append(arg)
        i += 1
    return result._replace(client_cert=client_cert)


class Client:
    def __init__(
        self,
        args: ClientArgs,
        *,
        stdin: IO[bytes] | None = None,
        stdout: IO[bytes] | None = None,
        stderr: IO[str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.args = args
        self.stdin = stdin if stdin is not None else sys.stdin.buffer
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        self.stderr = stderr if stderr is not None else sys.stderr
        self.cwd = cwd or Path.cwd()
        self._adverts: list[Advert] | None = None
        self._networks: list[LocalNetwork] | None = None
        self._databases: Databases | None = None
        self._trusted: layout.TrustedSet | None = None

    # ------------------------------------------------------------------ trust
    def directories(self) -> list[Path]:
        return layout.client_db_dirs(self.args.ssl_dirs)

    def databases(self) -> Databases:
        """Every certificate of every database, SystemTap's NSS ones included (loaded
        only when a server's certificate is not one of ours byte for byte)."""
        if self._databases is None:
            from ..trust import database

            self._databases = [(d, database.trusted_certificates(d)) for d in self.directories()]
        return self._databases

    def judge(self, der: bytes) -> Decision:
        return decide_presented(der, self.directories(), self.databases)

    def trusts(self, advert: Advert) -> bool:
        if self._trusted is None:
            self._trusted = layout.TrustedSet(self.directories())
        return self._trusted.trusts(advert.txt)

    # ------------------------------------------------------------------ running
    def run(self) -> int:
        o = parse_options(self.args.stap_args)
        if o.help or o.version:
            self.stdout.write((USAGE if o.help else version_text()).encode())
            self.stdout.flush()
            return 0
        if not o.has_script:
            raise UsageError("A script must be specified.")
        packed = pack(self.args.stap_args, stdin=self.stdin, cwd=self.cwd)
        runtimes = runtimes_wanted(packed.options)

        def prepare() -> None:
            """While the server answers: what checking and running its answer needs."""
            from ..trust import signing  # noqa: F401 - cryptography, for the signatures

            if packed.options.last_pass == 5:
                from ..runtime import engine, loader  # noqa: F401

        payloads: dict[str, bytes] = {}
        failures: list[str] = []
        for label, runtime, addresses in self.attempts(packed, runtimes, failures):
            if runtime not in payloads:
                payloads[runtime] = req_mod.encode(packed.request_for(runtime))
            tried: list[str] = []
            for address in addresses:
                try:
                    der, data = exchange(
                        address,
                        payloads[runtime],
                        self.judge,
                        meanwhile=prepare,
                        client_cert=self.args.client_cert,
                    )
                    from ..trust import signing

                    key, manifest = signing.server_key(der)
                    response, modules = verified(
                        data, key, runtime, address, packed.options.last_pass, manifest
                    )
                except TrustError as err:
                    if len(self.args.servers) == 1:  # the one server named: nothing else
                        raise
                    tried.append(str(err))  # an advertisement that lied: next server
                    break
                except ProtocolError as err:
                    # nothing of it was used: the same request goes to the next server
                    tried.append(f"server {address} sent a bad response: {err}")
                    break
                except NetworkError as err:
                    tried.append(str(err))
                    continue
                return self.finish(address, modules, response, packed)
            if tried:
                failures.append(
                    tried[0]
                    if len(tried) == 1 and label == str(addresses[0])
                    else f"server {label}: " + "; ".join(tried)
                )
        raise NetworkError("; ".join(failures) if failures else "no server could be used")

    def browse(self) -> list[Advert]:
        if self._adverts is None:
            from ..discovery.browse import browse, memory_file

            self._adverts = browse(memory=memory_file())
        return self._adverts

    def networks(self) -> list[LocalNetwork]:
        """This machine's networks (asked only when an advertised server is to be
        reached: a server named with its port needs none of it)."""
        if self._networks is None:
            from ..discovery.netinfo import local_networks

            self._networks = local_networks()
        return self._networks

    def attempts(
        self, packed: Packed, runtimes: tuple[str, ...], failures: list[str]
    ) -> Iterator[tuple[str, str, list[ServerAddress]]]:
        """The servers to try, in order, each with the runtime to ask it for and its
        addresses in order: the ``--server``s as given (one without a port looked up
        among the advertised ones), else the trusted compatible servers advertised on
        the local network.  A server is asked only for a runtime it advertises."""
        servers = self.args.servers
        if servers and all(a.port is not None for a in servers):
            # named with their ports: nothing advertised to go by, the preferred runtime
            for address in servers:
                yield str(address), runtimes[0], [address]
            return
        from ..discovery.adverts import Target, compatible, rank
        from .choose import addresses_of, choose, explain, matches_host, offers, wanted

        release, arch = packed.request.release, packed.request.arch
        targets = [Target(release, arch, r) for r in runtimes]
        if not servers:
            choice = choose(self.browse(), targets, self.trusts)
            if not choice.candidates:
                raise NetworkError(explain(choice, targets))
            for a, runtime in choice.candidates:
                yield a.name, runtime, addresses_of(a, self.networks())
            return
        for address in servers:
            if address.port is not None:
                yield str(address), runtimes[0], [address]
                continue
            found = rank(a for a in self.browse() if matches_host(a, address.host))
            if not found:
                failures.append(
                    f"server {address}: not advertised on the local network; give its port "
                    f"(--server={address}:PORT)"
                )
            for a in found:
                fit = next((t.runtime for t in targets if compatible(a, t)), None)
                if fit is None:
                    failures.append(
                        f"server {address} ({a.name}) builds for {offers(a)}, "
                        f"not for {wanted(targets)}"
                    )
                    continue
                yield f"{address} ({a.name})", fit, addresses_of(a, self.networks())

    def finish(
        self,
        address: ServerAddress,
        modules: dict[str, bytes],
        response: resp_mod.Response,
        packed: Packed,
    ) -> int:
        """Use a response already verified (:func:`checked_modules`): its messages, its
        module kept or run."""
        o = packed.options
        stderr = _unmap(response.stderr, packed.paths)
        stdout = _unmap(response.stdout, packed.paths)
        if o.last_pass >= 4:
            # the server names the module it built (SystemTap's, with its cache path:
            # "<server>/.systemtap/cache/9b/stap_9b…_912.ko"); we name it as we keep it
            def names_module(line: bytes) -> bool:
                text = line.strip().decode(errors="replace")
                return any(text == n or text.endswith("/" + n) for n in modules)

            stdout = b"".join(ln for ln in stdout.splitlines(keepends=True) if not names_module(ln))
        self.stderr.write(stderr.decode("utf-8", "surrogateescape"))
        self.stderr.flush()
        self.stdout.write(stdout)
        self.stdout.flush()
        if response.rc != 0:
            return response.rc
        if o.last_pass < 4:
            return 0
        name = _main_module(modules)
        if o.last_pass == 4 or o.module_name:
            self.keep(name, response.module_files)
        if o.last_pass == 4:
            self.stdout.write((name + "\n").encode())
            self.stdout.flush()
            return 0
        return self.run_module(name, modules[name], o, packed.paths)

    def keep(self, name: str, files: dict[str, bytes]) -> None:
        """Leave the module (and its signature) in the current directory."""
        from ..trust.signing import SIGNATURE_SUFFIX

        for fname in (name, name + SIGNATURE_SUFFIX):
            if fname in files:
                target = self.cwd / fname
                try:
                    write_atomic(target, files[fname])
                except OSError as err:
                    raise InputError(f"cannot write {target}: {err.strerror}") from None

    def run_module(
        self, name: str, data: bytes, o: Options, paths: dict[str, str] | None = None
    ) -> int:
        if name.endswith(".py"):
            from ..runtime import loader
            from ..runtime.engine import RunOptions, run_module_to

            module = loader.load_source(data.decode("utf-8", "surrogateescape"), name)
            options = RunOptions(
                target=o.target_pid or 0,
                command=o.command,
                verbose=o.verbose,
                suppress_warnings=o.suppress_warnings,
                timeout=o.timeout,
                buffer_mb=o.buffer_mb,
                suppress_handler_errors=o.suppress_handler_errors,
            )
            # run-time messages name the script as the server saw it: name it as given
            err = _PathMapper(self.stderr, paths or {})
            output = None if o.output is None else str(self.cwd / o.output)
            rc = run_module_to(module, options, output, o.output or "", self.stdout, err)
            if rc:
                self.stderr.write("Pass 5: run failed.  [man error::pass5]\n")
            return rc
        return self.run_native(name, data, o)

    def run_native(self, name: str, data: bytes, o: Options) -> int:
        tool = None
        if name.endswith(".ko"):
            tool = staprun_path()
            what = "staprun"
        elif name.endswith(".bo"):
            import shutil

            tool = shutil.which("stapbpf")
            what = "stapbpf"
        else:
            raise ProtocolError(f"module {name} is of no kind this client runs")
        if tool is None:
            raise InputError(
                f"module {name} needs {what}, which is not installed here "
                "(ask for --runtime=python to run scripts without SystemTap)"
            )
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory(prefix="stap-client-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            cmd = [tool]
            if o.output is not None:
                cmd += ["-o", str(self.cwd / o.output)]
            if o.command is not None:
                cmd += ["-c", o.command]
            if o.target_pid is not None:
                cmd += ["-x", str(o.target_pid)]
            cmd.append(str(path))
            rc = subprocess.call(cmd)
        if rc:
            self.stderr.write("Pass 5: run failed.  [man error::pass5]\n")
        return rc


class _PathMapper(io.TextIOBase):
    """A text stream that renames the script's request paths before writing on."""

    def __init__(self, target: IO[str], paths: dict[str, str]) -> None:
        self.target = target
        self.pairs = _longest_first(paths)

    def write(self, text: str) -> int:
        for sent, given in self.pairs:
            text = text.replace(sent, given)
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()


def _longest_first(paths: dict[str, str]) -> list[tuple[str, str]]:
    """The (sent, given) path pairs, longest sent path first: none is renamed inside
    another."""
    return sorted(paths.items(), key=lambda kv: -len(kv[0]))


def _unmap(data: bytes, paths: dict[str, str]) -> bytes:
    """Messages name the script as the server saw it (``script/<path>``): name it as the
    user wrote it."""
    for sent, given in _longest_first(paths):
        data = data.replace(sent.encode("utf-8", "surrogateescape"), given.encode())
    return data


def _main_module(modules: dict[str, bytes]) -> str:
    for suffix in (".ko", ".py", ".bo"):
        for name in sorted(modules):
            if name.endswith(suffix):
                return name
    return sorted(modules)[0]


def version_text() -> str:
    from .. import SYSTEMTAP_VERSION, __version__

    return f"stap-client (stapserver {__version__}; SystemTap {SYSTEMTAP_VERSION} protocol)\n"


def verified(
    data: bytes,
    key: PublicKey,
    runtime: str,
    address: ServerAddress,
    last_pass: int,
    manifest: bool,
) -> tuple[resp_mod.Response, dict[str, bytes]]:
    """A server's answer, decoded and verified as a whole before any of it is used:
    the archive (limits, names), its manifest's signature and every entry's digest
    (required when ``manifest``: the server's certificate says it signs one, as ours
    do; SystemTap's servers sign only their modules), every module's signature and kind
    (:func:`checked_modules`).  Anything else is a ProtocolError or a TrustError with a
    one-line message."""
    from ..trust import signing

    response = resp_mod.decode(data, RESPONSE_LIMITS, verify=functools.partial(signing.verify, key))
    if manifest and not response.signed:
        raise TrustError(
            f"server {address}: its answer has no signed manifest, which its certificate "
            "promises; nothing was used"
        )
    return response, checked_modules(response, key, runtime, address, last_pass)


def checked_modules(
    response: resp_mod.Response,
    key: PublicKey,
    runtime: str,
    address: ServerAddress,
    last_pass: int,
) -> dict[str, bytes]:
    """The modules of a response, once each is signed by the server (its ``.sgn``, as
    SystemTap's servers sign them too) and of the kind the runtime asked for needs, and
    there is one where a successful -p4 or -p5 needs it; else TrustError or
    ProtocolError, and nothing of the response is used."""
    from ..trust import signing

    # the modules among the module folder's files (SystemTap's server leaves the C
    # sources of -p3 there too: never used, never written)
    modules = {
        name: data
        for name, data in response.module_files.items()
        if name[name.rfind(".") :] in resp_mod.MODULE_KINDS
    }
    for name, data in modules.items():
        kind = resp_mod.MODULE_KINDS[name[name.rfind(".") :]]
        if kind != runtime:
            raise ProtocolError(
                f"it returned a {kind}-runtime module ({name}) for the {runtime} runtime asked"
            )
        sgn = response.module_files.get(name + signing.SIGNATURE_SUFFIX)
        if sgn is None:
            raise TrustError(f"server {address}: module {name} is not signed; nothing was used")
        if not signing.verify(key, data, sgn):
            raise TrustError(
                f"server {address}: the signature of module {name} does not verify; "
                "nothing was used"
            )
    if response.rc == 0 and last_pass >= 4:
        if not modules:
            raise ProtocolError("it returned no module")
        if len(modules) > 1 and runtime != "kernel":
            raise ProtocolError(f"it returned {len(modules)} modules, not one")
    return modules


def runtimes_wanted(o: Options) -> tuple[str, ...]:
    """The runtimes a server may build for, preferred first: the one given with
    ``--runtime``; where nothing runs here (``-p1`` to ``-p4``) SystemTap's default, the
    kernel, as ``stap`` itself would; for pass 5 those this machine runs."""
    if o.runtime is not None:
        return (o.runtime,)
    if o.last_pass < 5:
        return ("kernel",)
    return pass5_runtimes()


def main(argv: list[str]) -> int:
    return Client(split_client_args(argv)).run()


__all__ = ["Client", "ClientArgs", "StapError", "main", "split_client_args"]

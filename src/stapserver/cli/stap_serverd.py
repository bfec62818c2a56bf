"""``stap-serverd``: the compile-server daemon (in the foreground; stap-start-server
starts it in the background)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path

from ..errors import StapError, UsageError
from ..server.daemon import ServerConfig, serve
from .common import run_command


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range 0-65535")
    return value


DESCRIPTION = """\
The SystemTap compile server (stapserver), in the foreground: stap-start-server
starts it in the background."""


def parser(prog: str = "stap-serverd", description: str = DESCRIPTION) -> argparse.ArgumentParser:
    """The server's options; ``prog`` and ``description`` (lines as they are to be
    printed) for the commands that take them to start one (stap-start-server,
    stap-find-or-start-server)."""
    defaults = ServerConfig()
    p = _Parser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--port", type=_port, default=0, help="TCP port (default: a random one)")
    p.add_argument("--address", default="", help="address to listen on (default: all)")
    p.add_argument(
        "--max-threads",
        type=_positive,
        default=defaults.max_threads,
        help="builds running at once (default: the number of CPUs)",
    )
    p.add_argument("--log", type=Path, help="append one line per request to this file")
    p.add_argument(
        "--max-request-size",
        type=_positive,
        default=defaults.max_request_size,
        help="largest request once unpacked, in bytes",
    )
    p.add_argument(
        "--max-compressed-request",
        type=_positive,
        default=defaults.max_compressed_request,
        help="largest request as sent, in bytes",
    )
    p.add_argument("--ssl", type=Path, help="server certificate database folder")
    p.add_argument(
        "--read-timeout",
        type=float,
        default=defaults.read_timeout,
        help="seconds a client may take to send its request",
    )
    p.add_argument(
        "--build-timeout",
        type=float,
        default=defaults.build_timeout,
        help="seconds a build may take",
    )
    p.add_argument(
        "--key-bits",
        type=int,
        default=defaults.key_bits,
        choices=(2048, 3072, 4096),
        help="RSA key size of a new server certificate (default 4096, as SystemTap)",
    )
    p.add_argument(
        "--cache-size",
        type=int,
        default=defaults.cache_bytes // (1024 * 1024),
        help="MiB of responses kept for identical requests (0: no cache)",
    )
    p.add_argument(
        "--no-advertise",
        action="store_true",
        help="do not advertise the server on the local network (DNS-SD)",
    )
    p.add_argument(
        "-r",
        dest="releases",
        action="append",
        default=[],
        metavar="RELEASE",
        help="also build kernel and BPF modules for this kernel release (repeatable)",
    )
    for flag, what in (
        ("-R", "SystemTap runtime folder"),
        ("-B", "option for the kernel build (kbuild)"),
        ("-D", "NAME=VALUE for the kernel module's C code"),
        ("-I", "tapset folder"),
    ):
        p.add_argument(
            flag,
            dest=f"stap{flag[1]}",
            action="append",
            default=[],
            metavar="VALUE",
            help=f"{what}, given to stap for every build (repeatable)",
        )
    p.add_argument(
        "--no-stap",
        action="store_true",
        help="build with the python runtime only, even where SystemTap is installed",
    )
    p.add_argument(
        "--allow-client",
        dest="allow_clients",
        action="append",
        default=[],
        type=Path,
        metavar="CERTFILE|DIR",
        help="serve only clients showing one of these certificates (mutual TLS; repeatable; "
        "default: every client, as SystemTap's server)",
    )
    p.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv

    def body() -> int:
        ns = parser().parse_args(args)
        config = ServerConfig(
            address=ns.address,
            port=ns.port,
            max_threads=ns.max_threads,
            log=ns.log,
            max_request_size=ns.max_request_size,
            max_compressed_request=ns.max_compressed_request,
            read_timeout=ns.read_timeout,
            build_timeout=ns.build_timeout,
            db_dir=ns.ssl,
            key_bits=ns.key_bits,
            cache_bytes=max(0, ns.cache_size) * 1024 * 1024,
            advertise=not ns.no_advertise,
            releases=list(ns.releases),
            stap_options=[
                word
                for flag in ("R", "B", "D", "I")
                for value in getattr(ns, f"stap{flag}")
                for word in (f"-{flag}", value)
            ],
            use_stap=not ns.no_stap,
            allow_clients=list(ns.allow_clients),
        )
        try:
            return asyncio.run(serve(config, ns.ready_fd))
        except StapError as err:
            if ns.ready_fd is not None:
                with contextlib.suppress(OSError):
                    os.write(ns.ready_fd, f"ERROR {err}\n".encode())
            raise

    return run_command(body, "stap-serverd")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

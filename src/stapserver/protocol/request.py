"""The request archive (flat, no top-level folder), as SystemTap's client writes it.

| entry | content |
|---|---|
| ``version`` | the client's protocol version (absent means 1.0) |
| ``argv1`` … ``argvN`` | one command-line argument each, raw bytes |
| ``sysinfo`` | ``sysinfo: <kernel release> <arch>`` |
| ``locale`` | ``NAME=value`` lines |
| ``mok_fingerprints`` | Secure Boot key fingerprints (optional) |
| ``script/<path>`` | the script file; ``script/-`` for standard input |
| ``tapset/<path>/…`` | each ``-I`` tree |
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..errors import ProtocolError
from . import archive

CLIENT_VERSION = "4.8"
MAX_ARGS = 1000
MAX_ARG_BYTES = 1024 * 1024
LOCALE_NAMES = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_COLLATE",
    "LC_MESSAGES",
    "LC_TIME",
    "LC_MONETARY",
    "LC_NUMERIC",
)
_LOCALE_VALUE = re.compile(r"^[a-zA-Z0-9@_.=-]*$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_RELEASE = re.compile(r"^[A-Za-z0-9_.+-]+$")
_ARCH = re.compile(r"^[A-Za-z0-9_]+$")
_ARGV = re.compile(r"^argv([1-9][0-9]*)$")


class Request(NamedTuple):
    argv: list[str]
    release: str
    arch: str
    version: str = CLIENT_VERSION
    # (named tuples on the client's path: never changed in place, defaults shared)
    locale: dict[str, str] = {}  # noqa: RUF012
    files: dict[str, bytes] = {}  # noqa: RUF012 - under script/ and tapset/
    mok_fingerprints: list[str] | None = None


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def encode(req: Request) -> bytes:
    entries: list[tuple[str, bytes]] = [("version", req.version.encode())]
    for i, arg in enumerate(req.argv, 1):
        entries.append((f"argv{i}", arg.encode("utf-8", "surrogateescape")))
    entries.append(("sysinfo", f"sysinfo: {req.release} {req.arch}".encode()))
    locale = "".join(f"{k}={v}\n" for k, v in req.locale.items())
    entries.append(("locale", locale.encode()))
    if req.mok_fingerprints is not None:
        text = "".join(f"{fp}\n" for fp in req.mok_fingerprints) or "missing\n"
        entries.append(("mok_fingerprints", text.encode()))
    for name in sorted(req.files):
        archive.check_name(name)
        entries.append((name, req.files[name]))
    return archive.build(entries)


def parse_version(text: str) -> tuple[int, ...]:
    if not _VERSION.fullmatch(text):
        raise ProtocolError(f"protocol version {text!r} is not a dotted number")
    return tuple(int(p) for p in text.split("."))


# the server's options that set archive.Limits for requests
COMPRESSED_OPTION = "--max-compressed-request"
UNCOMPRESSED_OPTION = "--max-request-size"


def decode(data: bytes, limits: archive.Limits) -> Request:
    """A request archive, checked: ProtocolError names the first problem (a size over
    the limit, the server's option that sets it)."""
    try:
        files = archive.read(data, limits)
    except archive.TooLarge as err:
        option = COMPRESSED_OPTION if err.compressed else UNCOMPRESSED_OPTION
        raise err.set_by(f"the server's {option}") from None
    version = _text(files.get("version", b"1.0")).strip()
    parse_version(version)
    args: dict[int, str] = {}
    for name, content in files.items():
        m = _ARGV.match(name)
        if m:
            if len(content) > MAX_ARG_BYTES:
                raise ProtocolError(f"{name} is longer than {MAX_ARG_BYTES} bytes")
            args[int(m.group(1))] = _text(content)
    if len(args) > MAX_ARGS:
        raise ProtocolError(f"request has {len(args)} arguments; the limit is {MAX_ARGS}")
    if sorted(args) != list(range(1, len(args) + 1)):
        raise ProtocolError("request arguments are not numbered argv1 to argvN")
    if "sysinfo" not in files:
        raise ProtocolError("request has no sysinfo")
    sysinfo = _text(files["sysinfo"]).strip()
    parts = sysinfo.split()
    if len(parts) != 3 or parts[0] != "sysinfo:":
        raise ProtocolError(f"malformed sysinfo {sysinfo!r}")
    release, arch = parts[1], parts[2]
    if not _RELEASE.fullmatch(release) or not _ARCH.fullmatch(arch):
        raise ProtocolError(f"malformed sysinfo {sysinfo!r}")
    locale: dict[str, str] = {}
    for line in _text(files.get("locale", b"")).splitlines():
        key, eq, value = line.partition("=")
        if eq and key in LOCALE_NAMES and _LOCALE_VALUE.fullmatch(value):
            locale[key] = value
    mok = None
    if "mok_fingerprints" in files:
        mok = [x for x in _text(files["mok_fingerprints"]).split() if x != "missing"]
    payload = {
        name: content for name, content in files.items() if name.startswith(("script/", "tapset/"))
    }
    return Request(
        argv=[args[i] for i in sorted(args)],
        release=release,
        arch=arch,
        version=version,
        locale=locale,
        files=payload,
        mok_fingerprints=mok,
    )

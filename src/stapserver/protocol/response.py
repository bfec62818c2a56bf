"""The response archive, as SystemTap's server writes it, plus our signed manifest.

| entry | content |
|---|---|
| ``version`` | the server's protocol version |
| ``rc`` | the server-side exit status, decimal |
| ``stdout``, ``stderr`` | what the translator printed |
| ``stap000000/`` | the built module and its ``.sgn`` signature |
| ``stapserver.manifest`` | ours: ``<sha256> <size> <name>`` for every other entry |
| ``stapserver.manifest.sgn`` | ours: the server's signature over the manifest |

SystemTap's client ignores unknown root entries, so the manifest costs it nothing; our
client verifies the manifest's signature and every entry's digest before using any of it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import NamedTuple

from ..errors import ProtocolError
from . import archive

SERVER_VERSION = "4.8"
MODULE_DIR = "stap000000"
MANIFEST = "stapserver.manifest"
MANIFEST_SIGNATURE = "stapserver.manifest.sgn"
# what a module file is, by its suffix: the runtime that runs it
MODULE_KINDS = {".ko": "kernel", ".bo": "bpf", ".py": "python"}
_MODULE_DIR = re.compile(r"^stap[A-Za-z0-9_]{6}$")


class Response(NamedTuple):
    rc: int
    stdout: bytes = b""
    stderr: bytes = b""
    version: str = SERVER_VERSION
    module_dir: str = MODULE_DIR
    # (named tuples on the client's path: never changed in place, defaults shared)
    module_files: dict[str, bytes] = {}  # noqa: RUF012 - name -> data
    extra: dict[str, bytes] = {}  # noqa: RUF012 - other root files
    signed: bool = False  # had a manifest whose signature verified


def manifest_text(entries: list[tuple[str, bytes]]) -> bytes:
    lines = [
        f"{hashlib.sha256(data).hexdigest()} {len(data)} {name}\n" for name, data in sorted(entries)
    ]
    return "".join(lines).encode()


def encode(resp: Response, sign: Callable[[bytes], bytes] | None = None) -> bytes:
    """The response archive; with ``sign``, a manifest of every entry and its signature."""
    entries: list[tuple[str, bytes]] = [
        ("version", resp.version.encode()),
        ("rc", str(resp.rc).encode()),
        ("stdout", resp.stdout),
        ("stderr", resp.stderr),
    ]
    for name in sorted(resp.module_files):
        if "/" in archive.check_name(name):
            raise ValueError(f"module file {name!r} may not be in a subfolder")
        entries.append((f"{resp.module_dir}/{name}", resp.module_files[name]))
    for name in sorted(resp.extra):
        if _MODULE_DIR.match(archive.check_name(name).split("/", 1)[0]):
            raise ValueError(f"extra entry {name!r} would read as a second module folder")
        entries.append((name, resp.extra[name]))
    if sign is not None:
        manifest = manifest_text(entries)
        entries += [(MANIFEST, manifest), (MANIFEST_SIGNATURE, sign(manifest))]
    return archive.build(entries)


def decode(
    data: bytes,
    limits: archive.Limits,
    verify: Callable[[bytes, bytes], bool] | None = None,
    require_manifest: bool = False,
) -> Response:
    """A response archive, checked.  With ``verify(data, signature)``, a manifest that is
    present must be signed by the server and must cover exactly the archive's entries;
    ``require_manifest`` refuses a response without one."""
    files = archive.read(data, limits)
    signed = False
    if MANIFEST in files or MANIFEST_SIGNATURE in files:
        if verify is not None:
            _check_manifest(files, verify)
            signed = True
    elif require_manifest:
        raise ProtocolError("the response has no signed manifest")
    if "rc" not in files:
        raise ProtocolError("the response has no rc")
    try:
        rc = int(files["rc"].decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(f"the response's rc {files['rc'][:20]!r} is not a number") from None
    dirs = sorted({n.split("/", 1)[0] for n in files if "/" in n})
    module_dirs = [d for d in dirs if _MODULE_DIR.match(d)]
    if len(module_dirs) > 1:
        raise ProtocolError(f"the response has {len(module_dirs)} module folders, not one")
    module_dir = module_dirs[0] if module_dirs else MODULE_DIR
    module_files: dict[str, bytes] = {}
    extra: dict[str, bytes] = {}
    for name, content in files.items():
        if name.startswith(module_dir + "/"):
            sub = name[len(module_dir) + 1 :]
            if "/" in sub:
                raise ProtocolError(f"the module folder holds a subfolder ({name!r})")
            module_files[sub] = content
        elif name not in ("version", "rc", "stdout", "stderr", MANIFEST, MANIFEST_SIGNATURE):
            extra[name] = content
    version = files.get("version", b"1.0").decode("ascii", "replace").strip()
    return Response(
        rc=rc,
        stdout=files.get("stdout", b""),
        stderr=files.get("stderr", b""),
        version=version,
        module_dir=module_dir,
        module_files=module_files,
        extra=extra,
        signed=signed,
    )


def _check_manifest(files: dict[str, bytes], verify: Callable[[bytes, bytes], bool]) -> None:
    manifest = files.get(MANIFEST)
    signature = files.get(MANIFEST_SIGNATURE)
    if manifest is None or signature is None:
        raise ProtocolError("the response's manifest or its signature is missing")
    if not verify(manifest, signature):
        raise ProtocolError("the response's manifest signature does not verify")
    listed: dict[str, tuple[str, int]] = {}
    for line in manifest.decode("utf-8", "replace").splitlines():
        parts = line.split(" ", 2)
        if len(parts) != 3 or not re.fullmatch("[0-9]+", parts[1]):
            raise ProtocolError("the response's manifest is malformed")
        listed[parts[2]] = (parts[0], int(parts[1]))
    actual = {n for n in files if n not in (MANIFEST, MANIFEST_SIGNATURE)}
    if set(listed) != actual:
        extra = sorted(actual - set(listed)) or sorted(set(listed) - actual)
        raise ProtocolError(f"the response's manifest does not match its entries ({extra[0]!r})")
    for name, (digest, size) in listed.items():
        data = files[name]
        if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
            raise ProtocolError(f"the response entry {name!r} was altered after signing")

"""protocol.response: the response archive and our signed manifest."""

from __future__ import annotations

import fnmatch
import hashlib
import io
import zipfile
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stapserver.errors import ProtocolError
from stapserver.protocol import archive, response
from stapserver.protocol.response import MANIFEST, MANIFEST_SIGNATURE, Response
from stapserver.trust import certs, signing

LIMITS = archive.Limits()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return certs.generate_key(2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return certs.generate_key(2048)


def signer(key: rsa.RSAPrivateKey) -> Callable[[bytes], bytes]:
    return lambda data: signing.sign(key, data)


def verifier(key: rsa.RSAPrivateKey) -> Callable[[bytes, bytes], bool]:
    public = key.public_key()
    return lambda data, sig: signing.verify(public, data, sig)


def sample() -> Response:
    return Response(
        rc=0,
        stdout=b"stap_abc.ko\n",
        stderr=b"WARNING: something\n",
        module_files={"stap_abc.ko": b"\x7fELF module", "stap_abc.ko.sgn": b"signature"},
        extra={"signing_key.x509": b"DER"},
    )


def names_of(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.namelist()


def rebuild(data: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    files = archive.read(data, LIMITS)
    change(files)
    return archive.build(sorted(files.items()))


# ---------------------------------------------------------------------- encode


def test_encode_layout_unsigned() -> None:
    data = response.encode(sample())
    assert names_of(data) == [
        "version",
        "rc",
        "stdout",
        "stderr",
        "stap000000/stap_abc.ko",
        "stap000000/stap_abc.ko.sgn",
        "signing_key.x509",
    ]
    files = archive.read(data, LIMITS)
    assert files["version"] == b"4.8"
    assert files["rc"] == b"0"
    assert files["stdout"] == b"stap_abc.ko\n"
    assert files["stderr"] == b"WARNING: something\n"


def test_encode_rc_is_decimal_without_newline() -> None:
    for rc in (0, 1, 255, -1):
        files = archive.read(response.encode(Response(rc=rc)), LIMITS)
        assert files["rc"] == str(rc).encode()


def test_encode_signed_manifest(key: rsa.RSAPrivateKey) -> None:
    data = response.encode(sample(), signer(key))
    names = names_of(data)
    assert names[-2:] == [MANIFEST, MANIFEST_SIGNATURE]
    files = archive.read(data, LIMITS)
    lines = files[MANIFEST].decode().splitlines()
    covered = sorted(n for n in files if n not in (MANIFEST, MANIFEST_SIGNATURE))
    assert [ln.split(" ", 2)[2] for ln in lines] == covered
    for line in lines:
        digest, size, name = line.split(" ", 2)
        assert digest == hashlib.sha256(files[name]).hexdigest()
        assert int(size) == len(files[name])
    assert signing.verify(key.public_key(), files[MANIFEST], files[MANIFEST_SIGNATURE])


def test_manifest_text() -> None:
    text = response.manifest_text([("b", b"xy"), ("a", b"")])
    assert (
        text
        == (
            f"{hashlib.sha256(b'').hexdigest()} 0 a\n{hashlib.sha256(b'xy').hexdigest()} 2 b\n"
        ).encode()
    )


def test_encode_refuses_unsafe_module_names() -> None:
    with pytest.raises(ProtocolError):
        response.encode(Response(rc=0, module_files={"../x.ko": b""}))


# ---------------------------------------------------------------------- SystemTap 4.8


def _check_systemtap_48_accepts(data: bytes, *, with_module: bool) -> None:
    names = names_of(data)
    for required in ("version", "rc", "stdout", "stderr"):
        assert required in names
    roots = {n.split("/", 1)[0] for n in names}
    module_dirs = {r for r in roots if fnmatch.fnmatchcase(r, "stap??????")}
    if with_module:
        assert module_dirs == {"stap000000"}
        kos = [n for n in names if fnmatch.fnmatchcase(n, "stap000000/*.ko")]
        assert len(kos) == 1
    else:
        assert len(module_dirs) <= 1  # SystemTap's glob finds none: fine below pass 4
    files = archive.read(data, LIMITS)
    assert files["rc"].decode().isdigit() or files["rc"].decode().lstrip("-").isdigit()
    assert not files["rc"].endswith(b"\n")
    assert not files["version"].endswith(b"\n")


def test_systemtap_48_requirements(key: rsa.RSAPrivateKey) -> None:
    for sign in (None, signer(key)):
        _check_systemtap_48_accepts(response.encode(sample(), sign), with_module=True)
        _check_systemtap_48_accepts(response.encode(Response(rc=1), sign), with_module=False)


_FILE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.", min_size=1, max_size=10).filter(
    lambda s: s not in (".", "..")
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rc=st.integers(min_value=0, max_value=255),
    stdout=st.binary(max_size=100),
    stderr=st.binary(max_size=100),
    module=_FILE,
    others=st.dictionaries(_FILE, st.binary(max_size=50), max_size=3),
)
def test_random_responses_round_trip_and_suit_systemtap(
    key: rsa.RSAPrivateKey,
    rc: int,
    stdout: bytes,
    stderr: bytes,
    module: str,
    others: dict[str, bytes],
) -> None:
    module_files = {**others, f"{module}.ko": b"\x7fELF"}
    resp = Response(rc=rc, stdout=stdout, stderr=stderr, module_files=module_files)
    data = response.encode(resp, signer(key))
    _check_systemtap_48_accepts(data, with_module=True)
    decoded = response.decode(data, LIMITS, verifier(key), require_manifest=True)
    resp = resp._replace(signed=True)
    assert decoded == resp


# ---------------------------------------------------------------------- decode, signed


def test_signed_round_trip(key: rsa.RSAPrivateKey) -> None:
    resp = sample()
    decoded = response.decode(response.encode(resp, signer(key)), LIMITS, verifier(key))
    assert decoded.signed is True
    resp = resp._replace(signed=True)
    assert decoded == resp
    assert MANIFEST not in decoded.extra and MANIFEST_SIGNATURE not in decoded.extra


def test_signed_with_require_manifest(key: rsa.RSAPrivateKey) -> None:
    data = response.encode(sample(), signer(key))
    assert response.decode(data, LIMITS, verifier(key), require_manifest=True).signed is True


def test_signed_response_without_verifier_is_not_signed(key: rsa.RSAPrivateKey) -> None:
    decoded = response.decode(response.encode(sample(), signer(key)), LIMITS)
    assert decoded.signed is False
    assert decoded.extra == {"signing_key.x509": b"DER"}


def test_entry_bytes_changed_refused(key: rsa.RSAPrivateKey) -> None:
    data = response.encode(sample(), signer(key))

    def change(files: dict[str, bytes]) -> None:
        files["stap000000/stap_abc.ko"] = b"\x7fELF evil!!"  # same length

    with pytest.raises(ProtocolError) as err:
        response.decode(rebuild(data, change), LIMITS, verifier(key))
    assert str(err.value) == (
        "the response entry 'stap000000/stap_abc.ko' was altered after signing"
    )


@pytest.mark.parametrize("entry", ["rc", "stdout", "stderr", "version", "signing_key.x509"])
def test_any_entry_changed_refused(key: rsa.RSAPrivateKey, entry: str) -> None:
    data = response.encode(sample(), signer(key))

    def change(files: dict[str, bytes]) -> None:
        files[entry] = files[entry] + b"1"

    with pytest.raises(ProtocolError, match="was altered after signing"):
        response.decode(rebuild(data, change), LIMITS, verifier(key))


def test_entry_added_refused(key: rsa.RSAPrivateKey) -> None:
    data = response.encode(sample(), signer(key))

    def change(files: dict[str, bytes]) -> None:
        files["stap000000/evil.ko"] = b"evil"

    with pytest.raises(ProtocolError) as err:
        response.decode(rebuild(data, change), LIMITS, verifier(key))
    assert str(err.value) == (
        "the response's manifest does not match its entries ('stap000000/evil.ko')"
    )


def test_entry_removed_refused(key: rsa.RSAPrivateKey) -> None:
    data = response.encode(sample(), signer(key))

    def change(files: dict[str, bytes]) -> None:
        del files["stap000000/stap_abc.ko.sgn"]

    with pytest.raises(ProtocolError) as err:
        response.decode(rebuild(data, change), LIMITS, verifier(key))
    assert str(err.value) == (
        "the response's manifest does not match its entries ('stap000000/stap_abc.ko.sgn')"
    )


def test_manifest_edited_refused(key: rsa.RSAPrivateKey) -> None:
    data = response.encode(sample(), signer(key))

    def change(files: dict[str, bytes]) -> None:
        forged = b"forged\n"
        files["stdout"] = forged
        digest = hashlib.sha256(forged).hexdigest()
        lines = [
            f"{digest} {len(forged)} stdout\n" if ln.endswith(" stdout\n") else ln
            for ln in files[MANIFEST].decode().splitlines(keepends=True)
        ]
        edited = "".join(lines).encode()
        assert edited != files[MANIFEST]
        files[MANIFEST] = edited

    with pytest.raises(ProtocolError) as err:
        response.decode(rebuild(data, change), LIMITS, verifier(key))
    assert str(err.value) == "the response's manifest signature does not verify"


def test_signature_from_another_key_refused(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    forged = response.encode(sample(), signer(other_key))
    with pytest.raises(ProtocolError, match="manifest signature does not verify"):
        response.decode(forged, LIMITS, verifier(key))


@pytest.mark.parametrize("missing", [MANIFEST, MANIFEST_SIGNATURE])
def test_half_a_manifest_refused(key: rsa.RSAPrivateKey, missing: str) -> None:
    data = response.encode(sample(), signer(key))

    def change(files: dict[str, bytes]) -> None:
        del files[missing]

    with pytest.raises(ProtocolError) as err:
        response.decode(rebuild(data, change), LIMITS, verifier(key))
    assert str(err.value) == "the response's manifest or its signature is missing"


@pytest.mark.parametrize(
    "manifest", [b"not a manifest\n", f"{'0' * 64} \u00b2 stdout\n".encode(), b"a 12\n"]
)
def test_malformed_manifest_refused(key: rsa.RSAPrivateKey, manifest: bytes) -> None:
    data = response.encode(sample(), signer(key))

    def change(files: dict[str, bytes]) -> None:
        files[MANIFEST] = manifest
        files[MANIFEST_SIGNATURE] = signing.sign(key, files[MANIFEST])

    with pytest.raises(ProtocolError, match="manifest is malformed"):
        response.decode(rebuild(data, change), LIMITS, verifier(key))


# ---------------------------------------------------------------------- decode, unsigned


def test_no_manifest_with_require_manifest_refused(key: rsa.RSAPrivateKey) -> None:
    data = response.encode(sample())
    with pytest.raises(ProtocolError) as err:
        response.decode(data, LIMITS, verifier(key), require_manifest=True)
    assert str(err.value) == "the response has no signed manifest"
    with pytest.raises(ProtocolError, match="no signed manifest"):
        response.decode(data, LIMITS, require_manifest=True)


def test_stripped_manifest_with_require_manifest_refused(key: rsa.RSAPrivateKey) -> None:
    data = response.encode(sample(), signer(key))

    def change(files: dict[str, bytes]) -> None:
        del files[MANIFEST], files[MANIFEST_SIGNATURE]

    with pytest.raises(ProtocolError, match="no signed manifest"):
        response.decode(rebuild(data, change), LIMITS, verifier(key), require_manifest=True)


def test_no_manifest_accepted_otherwise(key: rsa.RSAPrivateKey) -> None:
    data = response.encode(sample())
    for verify in (None, verifier(key)):
        decoded = response.decode(data, LIMITS, verify)
        assert decoded == sample()
        assert decoded.signed is False


def test_missing_version_means_1_0() -> None:
    data = archive.build([("rc", b"0"), ("stdout", b""), ("stderr", b"")])
    assert response.decode(data, LIMITS).version == "1.0"


def test_missing_rc_refused() -> None:
    data = archive.build([("version", b"4.8"), ("stdout", b""), ("stderr", b"")])
    with pytest.raises(ProtocolError) as err:
        response.decode(data, LIMITS)
    assert str(err.value) == "the response has no rc"


@pytest.mark.parametrize("rc", [b"abc", b"", b"0x1", b"1.5", b"\xff", b"1 2"])
def test_non_numeric_rc_refused(rc: bytes) -> None:
    data = archive.build([("version", b"4.8"), ("rc", rc)])
    with pytest.raises(ProtocolError, match="is not a number"):
        response.decode(data, LIMITS)


@pytest.mark.parametrize(("text", "value"), [(b"0", 0), (b"1\n", 1), (b" 42 ", 42), (b"-1", -1)])
def test_numeric_rc_accepted(text: bytes, value: int) -> None:
    assert response.decode(archive.build([("rc", text)]), LIMITS).rc == value


def test_missing_stdout_stderr_are_empty() -> None:
    decoded = response.decode(archive.build([("rc", b"0")]), LIMITS)
    assert (decoded.stdout, decoded.stderr) == (b"", b"")


def test_two_module_folders_refused() -> None:
    data = archive.build([("rc", b"0"), ("stap000000/a.ko", b"a"), ("stapAbC_12/b.ko", b"b")])
    with pytest.raises(ProtocolError) as err:
        response.decode(data, LIMITS)
    assert str(err.value) == "the response has 2 module folders, not one"


def test_other_module_folder_name_accepted() -> None:
    data = archive.build([("rc", b"0"), ("stapXyZ123/m.ko", b"m")])
    decoded = response.decode(data, LIMITS)
    assert decoded.module_dir == "stapXyZ123"
    assert decoded.module_files == {"m.ko": b"m"}


def test_subfolder_in_module_folder_refused() -> None:
    data = archive.build([("rc", b"0"), ("stap000000/sub/m.ko", b"m")])
    with pytest.raises(ProtocolError) as err:
        response.decode(data, LIMITS)
    assert str(err.value) == "the module folder holds a subfolder ('stap000000/sub/m.ko')"


def test_unknown_root_entries_kept_in_extra() -> None:
    data = archive.build(
        [
            ("version", b"5.4"),
            ("rc", b"0"),
            ("stdout", b"o"),
            ("stderr", b"e"),
            ("stap000000/m.ko", b"m"),
            ("signing_key.x509", b"k"),
            ("future_thing", b"f"),
            ("other/nested", b"n"),
        ]
    )
    decoded = response.decode(data, LIMITS)
    assert decoded == Response(
        rc=0,
        stdout=b"o",
        stderr=b"e",
        version="5.4",
        module_files={"m.ko": b"m"},
        extra={"signing_key.x509": b"k", "future_thing": b"f", "other/nested": b"n"},
    )


def test_decode_applies_archive_limits() -> None:
    data = response.encode(Response(rc=0, stdout=b"x" * 1000))
    with pytest.raises(ProtocolError):
        response.decode(data, archive.Limits(max_uncompressed=500))
    with pytest.raises(ProtocolError):
        response.decode(data, archive.Limits(max_compressed=len(data) - 1))

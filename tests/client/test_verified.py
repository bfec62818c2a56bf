"""client.client.verified: the whole answer of a server verified before any of it is
used, driven with generated and mutated responses (issue 11): the result is a verified
response equal to what the server signed, or a one-line refusal (ProtocolError or
TrustError), never anything else."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stapserver.client.address import ServerAddress
from stapserver.client.client import verified
from stapserver.errors import ProtocolError, TrustError
from stapserver.protocol import response
from stapserver.trust import certs, signing

KEY = certs.generate_key(2048)
OTHER = certs.generate_key(2048)
PUBLIC = KEY.public_key()
ADDRESS = ServerAddress("127.0.0.1", 4000)
EXAMPLES = int(os.environ.get("STAPSERVER_VERIFY_EXAMPLES", "2500"))

SUFFIX = {"python": ".py", "kernel": ".ko", "bpf": ".bo"}


@st.composite
def answers(draw: st.DrawFn) -> tuple[response.Response, str, int, bytes]:
    """A response as a server signs it: its fields, the runtime asked, the pass."""
    runtime = draw(st.sampled_from(["python", "kernel", "bpf"]))
    last_pass = draw(st.integers(1, 5))
    rc = draw(st.sampled_from([0, 0, 1, 70]))
    modules: dict[str, bytes] = {}
    if last_pass >= 4 and rc == 0:
        body = draw(st.binary(min_size=1, max_size=200))
        name = "stap_" + draw(st.text("abcdef0123456789_", min_size=1, max_size=12))
        modules[name + SUFFIX[runtime]] = body
        modules[name + SUFFIX[runtime] + ".sgn"] = signing.sign(KEY, body)
    resp = response.Response(
        rc=rc,
        stdout=draw(st.binary(max_size=100)),
        stderr=draw(st.binary(max_size=100)),
        module_files=modules,
    )
    data = response.encode(resp, sign=lambda blob: signing.sign(KEY, blob))
    return resp, runtime, last_pass, data


def refused_in_one_line(err: Exception) -> None:
    message = str(err)
    assert message and "\n" not in message, message


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers())
def test_what_a_server_signed_verifies(case: tuple[response.Response, str, int, bytes]) -> None:
    resp, runtime, last_pass, data = case
    got, modules = verified(data, PUBLIC, runtime, ADDRESS, last_pass, True)
    assert (got.rc, got.stdout, got.stderr) == (resp.rc, resp.stdout, resp.stderr)
    assert got.signed
    assert modules == {n: d for n, d in resp.module_files.items() if not n.endswith(".sgn")}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers(), st.data())
def test_a_mutated_answer_is_refused_in_one_line_or_unchanged(
    case: tuple[response.Response, str, int, bytes], data: st.DataObject
) -> None:
    resp, runtime, last_pass, blob = case
    mutated = bytearray(blob)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "splice"]), label="kind")
        at = data.draw(st.integers(0, max(0, len(mutated) - 1)), label="at")
        if kind == "flip" and mutated:
            mutated[at] ^= data.draw(st.integers(1, 255), label="bits")
        elif kind == "cut":
            del mutated[at : at + data.draw(st.integers(1, 64), label="length")]
        elif kind == "insert":
            mutated[at:at] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        else:  # a part of the archive again, elsewhere
            start = data.draw(st.integers(0, max(0, len(blob) - 1)), label="from")
            mutated[at:at] = blob[start : start + 40]
    try:
        got, modules = verified(bytes(mutated), PUBLIC, runtime, ADDRESS, last_pass, True)
    except (ProtocolError, TrustError) as err:
        refused_in_one_line(err)
        return
    # accepted: then it says exactly what the server signed
    assert (got.rc, got.stdout, got.stderr) == (resp.rc, resp.stdout, resp.stderr)
    assert modules == {n: d for n, d in resp.module_files.items() if not n.endswith(".sgn")}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers(), st.sampled_from(["another key", "wrong kind", "unsigned module"]))
def test_a_forged_answer_is_refused(
    case: tuple[response.Response, str, int, bytes], forgery: str
) -> None:
    resp, runtime, last_pass, _ = case
    files = dict(resp.module_files)
    if forgery == "another key":
        data = response.encode(resp, sign=lambda blob: signing.sign(OTHER, blob))
    else:
        other = {"python": "kernel", "kernel": "bpf", "bpf": "python"}[runtime]
        body = b"forged"
        name = "stap_forged" + SUFFIX[other if forgery == "wrong kind" else runtime]
        files[name] = body
        if forgery == "wrong kind":
            files[name + ".sgn"] = signing.sign(KEY, body)
        data = response.encode(
            resp._replace(module_files=files), sign=lambda blob: signing.sign(KEY, blob)
        )
    try:
        verified(data, PUBLIC, runtime, ADDRESS, last_pass, True)
    except (ProtocolError, TrustError) as err:
        refused_in_one_line(err)
    else:
        raise AssertionError(f"{forgery}: accepted")


def test_random_bytes_are_refused() -> None:
    for blob in (b"", b"PK\x03\x04", os.urandom(64), b"this is not a zip archive"):
        try:
            verified(blob, PUBLIC, "python", ADDRESS, 5, True)
        except ProtocolError as err:
            refused_in_one_line(err)
        else:
            raise AssertionError(f"{blob!r}: accepted")


def test_a_systemtap_server_s_answer_needs_only_its_modules_signed() -> None:
    """SystemTap's servers sign their modules and nothing else; their certificates do
    not promise a manifest, so none is asked of them."""
    body = b"\x7fELF module"
    files = {"stap_x.ko": body, "stap_x.ko.sgn": signing.sign(KEY, body)}
    data = response.encode(response.Response(rc=0, stdout=b"stap_x.ko\n", module_files=files))
    got, modules = verified(data, PUBLIC, "kernel", ADDRESS, 4, False)
    assert modules == {"stap_x.ko": body} and not got.signed
    try:
        verified(data, PUBLIC, "kernel", ADDRESS, 4, True)  # a certificate of ours: refused
    except TrustError as err:
        refused_in_one_line(err)
        assert "no signed manifest" in str(err)
    else:
        raise AssertionError("an answer without the manifest its certificate promises")


def test_files_beside_the_modules_are_neither_modules_nor_used() -> None:
    """SystemTap's server leaves the C sources of -p3 in the module folder (the
    interoperability test found it): they are not modules, and nothing uses them."""
    files = {"stap_symbols.c": b"/* C */", "stap_x_src.c": b"/* C */"}
    data = response.encode(response.Response(rc=0, stdout=b"/* C */\n", module_files=files))
    got, modules = verified(data, PUBLIC, "kernel", ADDRESS, 3, False)
    assert modules == {} and got.stdout == b"/* C */\n"

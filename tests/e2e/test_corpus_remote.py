"""The conformance corpus through the compile service: ``stap-client`` against our
server prints what ``pystap`` prints, for every case (SystemTap's own server tests
compare a direct run with a run through the server the same way)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from stapserver.trust import database

from ..conformance.corpus import CASES, Case, load_cases
from .conftest import Env, Server, make_env, start_server

ALL = load_cases()


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("corpus")
    env = make_env(root / "world")
    template = root / "template"
    database.load_or_create_server_identity(template, key_bits=2048)
    env.server_db().parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template, env.server_db())
    server = start_server(env)
    yield server
    server.stop()


def _run(env: Env, command: str, case: Case, extra: list[str]) -> tuple[int, bytes, bytes]:
    r = env.run(command, *extra, *case.argv(), cwd=CASES, timeout=120)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("case", ALL, ids=[c.name for c in ALL])
def test_same_as_pystap(corpus_server: Server, case: Case) -> None:
    env = corpus_server.env
    direct = _run(env, "pystap", case, [])
    # pystap's runtime, whatever the pass (-p1..-p4 would ask for stap's default)
    extra = [f"--server={corpus_server.address}", "--runtime=python"]
    remote = _run(env, "stap-client", case, extra)
    assert remote[1].decode(errors="replace") == direct[1].decode(errors="replace")
    assert remote[2].decode(errors="replace") == direct[2].decode(errors="replace")
    assert remote[0] == direct[0]


def test_corpus_present() -> None:
    assert len(ALL) >= 100
    assert Path(CASES).is_dir()

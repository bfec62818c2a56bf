"""Every case of the conformance corpus through ``pystap`` (passes 1-5 here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .corpus import CASES, Case, load_cases

ALL = load_cases()


def run_pystap(case: Case) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "stapserver.cli.pystap", *case.argv()],
        cwd=CASES,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_corpus_is_not_empty() -> None:
    assert len(ALL) >= 100


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(reason=case.known, strict=True)] if case.known else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in ALL])
def test_case(case: Case) -> None:
    result = run_pystap(case)
    assert result.stdout.decode(errors="replace") == case.stdout.decode(errors="replace")
    assert result.stderr.decode(errors="replace") == case.stderr.decode(errors="replace")
    assert result.returncode == case.status

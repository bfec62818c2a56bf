"""What running a module imports: stap-client and pystap load and run every module in a
fresh process, so the runtime imports no more than the module needs (no typing,
dataclasses, re, gzip... for a hello world), and the names it imports lazily still work."""

from __future__ import annotations

import ast
import io
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stapserver.runtime import loader, modsupport, printf, signatures, stats, tapset
from stapserver.runtime.engine import RunOptions, run_module

PYSTAP = [sys.executable, "-m", "stapserver.cli.pystap"]
HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'

# What a hello world must not import: the standard modules the runtime imports only where
# they are used, and the parts of stapserver it does not need.
LAZY = frozenset(
    {
        "collections",
        "contextlib",
        "dataclasses",
        "datetime",
        "enum",
        "functools",
        "gzip",
        "heapq",
        "inspect",
        "pathlib",
        "platform",
        "random",
        "re",
        "selectors",
        "signal",
        "subprocess",
        "threading",
        "typing",
        "stapserver.runtime.signatures",
        "stapserver.runtime.stats",
        "stapserver.translator",
        "stapserver.frontend",
    }
)

# Run in a fresh interpreter as client.py's run_module does: the modules imported by
# loading and running the module (beyond the interpreter's own start-up) go to stderr.
RUNNER = """
import sys
before = set(sys.modules)
from stapserver.runtime import engine, loader
with open(sys.argv[1], "rb") as f:
    data = f.read()
module = loader.load_source(data.decode("utf-8", "surrogateescape"), "hello.py")
rc = engine.run_module(module, engine.RunOptions(), sys.stdout.buffer, sys.stderr)
loaded = sorted(set(sys.modules) - before)
sys.stdout.flush()
sys.stderr.write(repr(loaded))
sys.exit(rc)
"""


def build_module(tmp_path: Path, script: str, name: str) -> Path:
    subprocess.run(
        [*PYSTAP, "-p4", "-m", name, "-e", script], cwd=tmp_path, check=True, capture_output=True
    )
    return tmp_path / f"{name}.py"


def run_fresh(module: Path) -> tuple[int, bytes, list[str]]:
    """Run ``module`` in a new interpreter: status, output and the modules imported."""
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(module)], capture_output=True)
    loaded = ast.literal_eval(proc.stderr.decode())
    assert isinstance(loaded, list)
    return proc.returncode, proc.stdout, loaded


def lazy_in(loaded: list[str]) -> list[str]:
    return [m for m in loaded if m in LAZY or m.partition(".")[0] in LAZY]


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_module(tmp_path_factory.mktemp("hello"), HELLO, "hello")


def test_hello_world_imports_nothing_heavy(hello: Path) -> None:
    rc, out, loaded = run_fresh(hello)
    assert (rc, out) == (0, b"Hello World!\n")
    assert "stapserver.runtime.engine" in loaded  # the list is what it claims to be
    assert lazy_in(loaded) == []


def test_modules_import_what_they_use(tmp_path: Path) -> None:
    script = (
        "global s, a probe begin { s <<< 1; a[1] <<< 2; "
        'if ("abc" =~ "b") printf("%s %d %d %s\\n", matched(0), @count(s), @sum(a[1]), '
        "ctime(0)); exit() }"
    )
    rc, out, loaded = run_fresh(build_module(tmp_path, script, "uses"))
    assert (rc, out) == (0, b"b 1 2 Thu Jan  1 00:00:00 1970\n")
    for name in ("re", "datetime", "stapserver.runtime.stats", "stapserver.runtime.tapset"):
        assert name in loaded
    assert "stapserver.runtime.signatures" not in loaded


def test_signal_handlers_are_restored(hello: Path) -> None:
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = [signal.getsignal(s) for s in signals]
    module = loader.load_file(hello)
    out = io.BytesIO()
    assert run_module(module, RunOptions(), out, io.StringIO()) == 0
    assert out.getvalue() == b"Hello World!\n"
    assert [signal.getsignal(s) for s in signals] == before


# ------------------------------------------------------------------ the lazy names


def test_modsupport_lazy_names() -> None:
    assert modsupport.tapset is tapset
    assert modsupport.Stat is stats.Stat
    assert modsupport.HistSpec is stats.HistSpec
    with pytest.raises(AttributeError):
        modsupport.no_such_name  # noqa: B018
    assert not hasattr(modsupport, "no_such_name")


def test_tapset_table_names() -> None:
    assert tapset.FUNCTIONS is signatures.FUNCTIONS
    assert tapset.OVERLOADS is signatures.OVERLOADS
    assert tapset.Signature is signatures.Signature
    assert tapset.lookup is signatures.lookup
    assert tapset.lookup("strlen", 1) is tapset.FUNCTIONS["strlen"]
    assert tapset.FUNCTIONS["strlen"].impl is tapset.strlen
    with pytest.raises(AttributeError):
        tapset.no_such_name  # noqa: B018


def test_stats_names_defined_in_base() -> None:
    from stapserver.runtime import base

    assert stats.StatInitError is base.StatInitError
    assert stats.HIST_ELISION == base.HIST_ELISION == 2


def test_run_options() -> None:
    o = RunOptions()
    assert (o.target, o.command, o.verbose, o.suppress_warnings) == (0, None, 0, False)
    o = RunOptions(5, "ls", 2, True)
    assert (o.target, o.command, o.verbose, o.suppress_warnings) == (5, "ls", 2, True)


@given(st.text(alphabet="ab./\\ \0", max_size=10))
def test_module_stem_is_pathlib_stem(name: str) -> None:
    assert loader._stem(name) == Path(name).stem


def test_parse_format_cache_is_lru() -> None:
    first = printf.parse_format(b"%d first\n")
    assert printf.parse_format(b"%d first\n") is first
    for i in range(printf._CACHE_SIZE - 1):
        printf.parse_format(b"%d " + str(i).encode())
        if i % 1000 == 0:
            assert printf.parse_format(b"%d first\n") is first  # used again: kept
    assert len(printf._cache) == printf._CACHE_SIZE
    assert printf.parse_format(b"%d first\n") is first
    printf.parse_format(b"one more")
    assert len(printf._cache) == printf._CACHE_SIZE
    assert b"%d 0" not in printf._cache  # the least recently used went
    assert printf.parse_format(b"%d first\n") is first
    with pytest.raises(printf.FormatError):
        printf.parse_format(b"%")
    assert b"%" not in printf._cache

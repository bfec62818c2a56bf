"""client.client: the client's own options and where it finds staprun."""

from __future__ import annotations

from pathlib import Path

import pytest

from stapserver import hostinfo
from stapserver.client import client
from stapserver.client.address import ServerAddress
from stapserver.client.client import ClientArgs, split_client_args
from stapserver.errors import UsageError
from stapserver.frontend.options import parse_options


def test_no_client_options() -> None:
    assert split_client_args(["-p4", "s.stp", "a"]) == ClientArgs([], [], ["-p4", "s.stp", "a"])
    assert split_client_args([]) == ClientArgs([], [], [])


def test_equals_forms() -> None:
    args = split_client_args(["--server=h:5000", "-p4", "--ssl=/db", "s.stp"])
    assert args.servers == [ServerAddress("h", 5000)]
    assert args.ssl_dirs == ["/db"]
    assert args.stap_args == ["-p4", "s.stp"]


def test_separate_forms() -> None:
    args = split_client_args(["--server", "[::1]:80", "s.stp", "--ssl", "db", "x"])
    assert args.servers == [ServerAddress("::1", 80)]
    assert args.ssl_dirs == ["db"]
    assert args.stap_args == ["s.stp", "x"]


def test_several_in_order() -> None:
    args = split_client_args(
        ["--server=a:1", "--ssl=d1", "--server", "b", "--ssl", "d2", "--server=10.0.0.1:3"]
    )
    assert args.servers == [
        ServerAddress("a", 1),
        ServerAddress("b", None),
        ServerAddress("10.0.0.1", 3),
    ]
    assert args.ssl_dirs == ["d1", "d2"]
    assert args.stap_args == []


def test_double_dash_stops() -> None:
    args = split_client_args(["--server=a:1", "s.stp", "--", "--server=b:2", "--ssl", "x"])
    assert args.servers == [ServerAddress("a", 1)]
    assert args.ssl_dirs == []
    assert args.stap_args == ["s.stp", "--", "--server=b:2", "--ssl", "x"]


def test_separate_value_may_look_like_an_option() -> None:
    assert split_client_args(["--ssl", "--server=x"]).ssl_dirs == ["--server=x"]


def test_similar_names_are_stap_arguments() -> None:
    args = split_client_args(["--servers=a", "--sslx", "--use-server", "s.stp"])
    assert args.servers == [] and args.ssl_dirs == []
    assert args.stap_args == ["--servers=a", "--sslx", "--use-server", "s.stp"]


@pytest.mark.parametrize("opt", ["--server", "--ssl"])
def test_missing_value(opt: str) -> None:
    with pytest.raises(UsageError) as err:
        split_client_args(["s.stp", opt])
    assert str(err.value) == f"option '{opt}' requires an argument"


def test_empty_values() -> None:
    with pytest.raises(UsageError, match=r"^--ssl needs a folder name$"):
        split_client_args(["--ssl="])
    with pytest.raises(UsageError, match=r"^--server needs a value"):
        split_client_args(["--server="])
    with pytest.raises(UsageError, match=r"^--ssl needs a folder name$"):
        split_client_args(["--ssl", ""])


def test_bad_server_value() -> None:
    with pytest.raises(UsageError, match="invalid port in --server=h:0"):
        split_client_args(["--server", "h:0"])


# ---------------------------------------------------------------------- staprun


@pytest.fixture
def executable(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "staprun"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel that loads modules (this machine's may not)."""
    monkeypatch.setattr(hostinfo, "kernel_loads_modules", lambda: True)


def test_staprun_from_environment(
    monkeypatch: pytest.MonkeyPatch, executable: Path, modules: None
) -> None:
    monkeypatch.setenv("SYSTEMTAP_STAPRUN", str(executable))
    monkeypatch.setenv("PATH", "/nonexistent")
    assert hostinfo.staprun_path() == str(executable)
    assert hostinfo.pass5_runtimes() == ("kernel", "python")


def test_staprun_environment_missing_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, executable: Path, modules: None
) -> None:
    monkeypatch.setenv("SYSTEMTAP_STAPRUN", str(tmp_path / "missing"))
    monkeypatch.setenv("PATH", str(executable.parent))  # not consulted
    assert hostinfo.staprun_path() is None
    assert hostinfo.pass5_runtimes() == ("python",)


def test_staprun_environment_not_executable_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, modules: None
) -> None:
    plain = tmp_path / "staprun"
    plain.write_text("")
    plain.chmod(0o644)  # no x bit: not executable, even for root
    monkeypatch.setenv("SYSTEMTAP_STAPRUN", str(plain))
    assert hostinfo.staprun_path() is None
    assert hostinfo.pass5_runtimes() == ("python",)


def test_staprun_on_path(monkeypatch: pytest.MonkeyPatch, executable: Path, modules: None) -> None:
    monkeypatch.delenv("SYSTEMTAP_STAPRUN", raising=False)
    monkeypatch.setenv("PATH", str(executable.parent))
    assert hostinfo.staprun_path() == str(executable)
    assert hostinfo.default_runtime() == "kernel"


def test_no_staprun(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, modules: None) -> None:
    monkeypatch.delenv("SYSTEMTAP_STAPRUN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert hostinfo.staprun_path() is None
    assert hostinfo.default_runtime() == "python"


def test_staprun_but_a_kernel_that_loads_no_module(
    monkeypatch: pytest.MonkeyPatch, executable: Path
) -> None:
    monkeypatch.setenv("SYSTEMTAP_STAPRUN", str(executable))
    monkeypatch.setattr(hostinfo, "kernel_loads_modules", lambda: False)
    assert hostinfo.pass5_runtimes() == ("python",)


def test_kernel_loads_modules(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    assert not hostinfo.kernel_loads_modules(str(proc))  # no module support at all
    (proc / "sys" / "kernel").mkdir(parents=True)
    (proc / "modules").write_text("")
    assert hostinfo.kernel_loads_modules(str(proc))  # modules, no sysctl: loads
    (proc / "sys" / "kernel" / "modules_disabled").write_text("0\n")
    assert hostinfo.kernel_loads_modules(str(proc))
    (proc / "sys" / "kernel" / "modules_disabled").write_text("1\n")
    assert not hostinfo.kernel_loads_modules(str(proc))


# ---------------------------------------------------------------------- runtime


@pytest.mark.parametrize(
    ("argv", "here", "wanted"),
    [
        # nothing runs here: stap's default, whatever this machine runs
        (["-p2", "-e", "x"], ("python",), ("kernel",)),
        (["-p4", "-e", "x"], ("kernel", "python"), ("kernel",)),
        # pass 5: what this machine runs, preferred first
        (["-e", "x"], ("python",), ("python",)),
        (["-e", "x"], ("kernel", "python"), ("kernel", "python")),
        # asked for: that one alone
        (["--runtime=bpf", "-e", "x"], ("python",), ("bpf",)),
        (["-p2", "--run", "python", "-e", "x"], ("kernel", "python"), ("python",)),
    ],
)
def test_runtimes_wanted(
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    here: tuple[str, ...],
    wanted: tuple[str, ...],
) -> None:
    monkeypatch.setattr(client, "pass5_runtimes", lambda: here)
    assert client.runtimes_wanted(parse_options(argv)) == wanted

"""client.packing: a stap command line packed as SystemTap's client packs it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from stapserver import hostinfo
from stapserver.client.packing import Packed, pack
from stapserver.errors import InputError
from stapserver.protocol import archive, request

SCRIPT = b"probe begin { println(@1) exit() }\n"


def run(argv: list[str], cwd: Path, *, stdin: bytes = b"") -> Packed:
    return pack(argv, stdin=io.BytesIO(stdin), cwd=cwd)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "s.stp").write_bytes(SCRIPT)
    tap = tmp_path / "tap"
    (tap / "sub" / "deeper").mkdir(parents=True)
    (tap / "a.stp").write_bytes(b"function a() { return 1 }\n")
    (tap / "sub" / "b.stp").write_bytes(b"function b() { return 2 }\n")
    (tap / "sub" / "deeper" / "c.stpm").write_bytes(b"@define C %( 3 %)\n")
    (tap / "empty.stp").write_bytes(b"")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.stp").write_bytes(b"secret")
    (tap / "link.stp").symlink_to(tap / "a.stp")
    (tap / "outside-link.stp").symlink_to(outside / "secret.stp")
    (tap / "linkdir").symlink_to(outside, target_is_directory=True)
    (tmp_path / "tap2").mkdir()
    (tmp_path / "tap2" / "z.stp").write_bytes(b"z")
    return tmp_path


def script_name(work: Path) -> str:
    return "script" + str(work / "s.stp")


# ---------------------------------------------------------------------- argument order


def test_argument_order(work: Path) -> None:
    packed = run(
        [
            "-v",
            "-I",
            "tap",
            "-p4",
            "-r",
            "6.1.0-57-amd64",
            "-DX=1",
            "-m",
            "mymod",
            "s.stp",
            "--privilege",
            "stapusr",
            "-Itap2",
            "arg1",
            "arg two",
        ],
        work,
    )
    assert packed.request.argv == [
        script_name(work),
        "-I",
        "tapset" + str(work / "tap"),
        "-I",
        "tapset" + str(work / "tap2"),
        "-v",
        "-p4",
        "-r6.1.0-57-amd64",
        "-DX=1",
        "-mmymod",
        "--privilege=stapusr",
        "--",
        "arg1",
        "arg two",
    ]


def test_no_script_arguments_no_double_dash(work: Path) -> None:
    assert run(["-p2", "s.stp"], work).request.argv == [script_name(work), "-p2"]


def test_script_arguments_that_look_like_options(work: Path) -> None:
    packed = run(["s.stp", "--", "-x", "--runtime=kernel"], work)
    assert packed.request.argv == [script_name(work), "--", "-x", "--runtime=kernel"]


def test_runtime_only_if_given_or_chosen(work: Path) -> None:
    packed = run(["s.stp", "a"], work)
    assert packed.request.argv == [script_name(work), "--", "a"]
    assert packed.request_for("python").argv == [
        script_name(work),
        "--runtime=python",
        "--",
        "a",
    ]
    # stap's default goes unsaid, as SystemTap's client leaves it
    assert packed.request_for("kernel").argv == [script_name(work), "--", "a"]
    assert packed.request_for("bpf").argv == [script_name(work), "--runtime=bpf", "--", "a"]
    assert packed.request.argv == [script_name(work), "--", "a"]  # unchanged


def test_runtime_given_keeps_its_place(work: Path) -> None:
    packed = run(["--runtime", "kernel", "-p4", "s.stp"], work)
    assert packed.request.argv == [script_name(work), "--runtime=kernel", "-p4"]
    assert packed.request_for("python").argv == packed.request.argv
    packed = run(["-p4", "--run=bpf", "s.stp"], work)
    assert packed.request.argv == [script_name(work), "-p4", "--runtime=bpf"]
    assert packed.request_for("kernel").argv == packed.request.argv


def test_flags_without_values(work: Path) -> None:
    packed = run(["-vvv", "-w", "-g", "s.stp"], work)
    assert packed.request.argv == [script_name(work), "-v", "-v", "-v", "-w", "-g"]


# ---------------------------------------------------------------------- the script


def test_script_file(work: Path) -> None:
    packed = run(["s.stp"], work)
    name = script_name(work)
    assert name.startswith("script/")
    assert packed.request.files == {name: SCRIPT}
    assert packed.paths == {name: "s.stp"}
    assert packed.options.script_file == "s.stp"


def test_script_absolute_path(work: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    packed = run([str(work / "s.stp")], other)
    assert packed.request.argv == [script_name(work)]
    assert packed.paths == {script_name(work): str(work / "s.stp")}


def test_script_path_normalized(work: Path) -> None:
    (work / "d").mkdir()
    packed = run(["./d/../s.stp"], work)
    assert packed.request.argv == [script_name(work)]
    assert packed.request.files == {script_name(work): SCRIPT}
    assert packed.paths == {script_name(work): "./d/../s.stp"}


def test_stdin_script(work: Path) -> None:
    packed = run(["-p4", "-", "a"], work, stdin=b"probe begin { exit() }")
    assert packed.request.argv == ["script/-", "-p4", "--", "a"]
    assert packed.request.files == {"script/-": b"probe begin { exit() }"}
    assert packed.paths == {"script/-": "<input>"}


def test_e_script_forwarded_joined(work: Path) -> None:
    packed = run(["-e", "probe begin { exit() }", "-p4", "x", "y"], work)
    assert packed.request.argv == ["-eprobe begin { exit() }", "-p4", "--", "x", "y"]
    assert packed.request.files == {}
    assert packed.paths == {}


def test_missing_script_file(work: Path) -> None:
    with pytest.raises(InputError) as err:
        run(["-p4", "nope.stp"], work)
    assert str(err.value) == "Input file 'nope.stp' is missing."


def test_unreadable_script_file(work: Path) -> None:
    (work / "dir.stp").mkdir()
    with pytest.raises(InputError, match=r"^Input file 'dir.stp' can't be opened for reading"):
        run(["dir.stp"], work)


# ---------------------------------------------------------------------- -I trees


def test_include_tree_packed(work: Path) -> None:
    packed = run(["-I", "tap", "s.stp"], work)
    tap = "tapset" + str(work / "tap")
    assert packed.request.files == {
        script_name(work): SCRIPT,
        f"{tap}/a.stp": b"function a() { return 1 }\n",
        f"{tap}/empty.stp": b"",
        f"{tap}/sub/b.stp": b"function b() { return 2 }\n",
        f"{tap}/sub/deeper/c.stpm": b"@define C %( 3 %)\n",
    }
    assert ["-I", tap] == packed.request.argv[1:3]


def test_include_symlinks_skipped(work: Path) -> None:
    prefix = "tapset" + str(work / "tap") + "/"
    names = {n.removeprefix(prefix) for n in run(["-I", "tap", "s.stp"], work).request.files}
    assert names == {script_name(work), "a.stp", "empty.stp", "sub/b.stp", "sub/deeper/c.stpm"}


def test_include_absolute_and_trailing_slash(work: Path) -> None:
    packed = run(["-I", str(work / "tap") + "/", "s.stp"], work)
    assert packed.request.argv[1:3] == ["-I", "tapset" + str(work / "tap")]


def test_include_not_a_folder(work: Path) -> None:
    with pytest.raises(InputError) as err:
        run(["-I", "nope", "s.stp"], work)
    assert str(err.value) == "-I nope: not a folder"
    with pytest.raises(InputError, match=r"^-I s\.stp: not a folder$"):
        run(["-I", "s.stp", "s.stp"], work)


def test_packed_request_round_trips(work: Path) -> None:
    packed = run(["-I", "tap", "-p4", "s.stp", "x"], work)
    decoded = request.decode(request.encode(packed.request), archive.Limits())
    assert decoded.argv == packed.request.argv
    assert decoded.files == packed.request.files


def test_include_with_dotdot(work: Path) -> None:
    sub = work / "sub"
    sub.mkdir()
    packed = run(["-I", "../tap2", "../s.stp"], sub)
    tap2 = "tapset" + str(work / "tap2")
    assert packed.request.argv == [script_name(work), "-I", tap2]
    assert packed.request.files == {script_name(work): SCRIPT, f"{tap2}/z.stp": b"z"}
    request.encode(packed.request)


# ---------------------------------------------------------------------- local options


@pytest.mark.parametrize(
    "local",
    [["-o", "out.txt"], ["-oout.txt"], ["-c", "ls -l"], ["-x", "123"], ["-k"], ["--tmpdir=/t"]],
)
def test_local_options_not_forwarded(work: Path, local: list[str]) -> None:
    packed = run(["-p4", *local, "s.stp"], work)
    assert packed.request.argv == [script_name(work), "-p4"]


def test_local_options_still_parsed(work: Path) -> None:
    packed = run(["-o", "out.txt", "-c", "ls", "s.stp"], work)
    assert packed.options.output == "out.txt"
    assert packed.options.command == "ls"


# ---------------------------------------------------------------------- sysinfo, locale


def test_release_and_arch_from_options(work: Path) -> None:
    packed = run(["-r", "6.1.0-57-amd64", "-a", "aarch64", "s.stp"], work)
    assert packed.request.release == "6.1.0-57-amd64"
    assert packed.request.arch == "arm64"
    assert packed.request.argv == [script_name(work), "-r6.1.0-57-amd64", "-aaarch64"]


@pytest.mark.parametrize(
    ("machine", "arch"),
    [
        ("x86_64", "x86_64"),
        ("i686", "i386"),
        ("aarch64", "arm64"),
        ("ppc64le", "powerpc"),
        ("s390x", "s390"),
        ("armv7l", "arm"),
        ("mips64", "mips"),
    ],
)
def test_release_and_arch_from_uname(
    work: Path, monkeypatch: pytest.MonkeyPatch, machine: str, arch: str
) -> None:
    monkeypatch.setattr(hostinfo, "machine", lambda: machine)
    packed = run(["s.stp"], work)
    assert packed.request.release == os.uname().release
    assert packed.request.arch == arch


def test_sysinfo_encoded(work: Path) -> None:
    packed = run(["-r", "6.1.0-57-amd64", "-a", "x86_64", "s.stp"], work)
    files = archive.read(request.encode(packed.request), archive.Limits())
    assert files["sysinfo"] == b"sysinfo: 6.1.0-57-amd64 x86_64"


def test_locale_from_environment(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in request.LOCALE_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("LC_TIME", "C")
    monkeypatch.setenv("LANGUAGE", "fr")
    monkeypatch.setenv("LC_PAPER", "C")
    assert run(["s.stp"], work).request.locale == {"LANG": "en_US.UTF-8", "LC_TIME": "C"}
    for name in ("LANG", "LC_TIME"):
        monkeypatch.delenv(name)
    assert run(["s.stp"], work).request.locale == {}

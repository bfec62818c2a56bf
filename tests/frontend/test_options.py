"""stap's command line: GNU getopt_long with permutation, then stap's validation.

Messages are compared with what ``stap`` 4.8 prints (its ``stap: `` program-name prefix
and the ``Try '--help'`` line are the CLI's business, not the parser's).
"""

from __future__ import annotations

import pytest

from stapserver.errors import UsageError
from stapserver.frontend.options import LONG_OPTIONS, SHORT_OPTIONS, Options, parse_options


def usage_error(argv: list[str]) -> str:
    with pytest.raises(UsageError) as info:
        parse_options(argv)
    return str(info.value)


# ---------------------------------------------------------------------- getopt


def test_defaults() -> None:
    o = parse_options(["-e", "probe begin {}"])
    assert (o.last_pass, o.verbose, o.script_text, o.script_file, o.args) == (
        5,
        0,
        "probe begin {}",
        None,
        [],
    )
    assert (o.privilege, o.guru, o.runtime, o.module_name, o.output) == (
        "stapdev",
        False,
        None,
        None,
        None,
    )
    assert o.has_script


def test_attached_and_separate_values() -> None:
    assert parse_options(["-p2", "-e", "x"]).last_pass == 2
    assert parse_options(["-p", "2", "-e", "x"]).last_pass == 2
    assert parse_options(["-ex"]).script_text == "x"


def test_grouped_flags() -> None:
    o = parse_options(["-vvvgw", "-e", "x"])
    assert (o.verbose, o.guru, o.suppress_warnings) == (3, True, True)


def test_flags_then_option_with_attached_value() -> None:
    o = parse_options(["-vp3", "-e", "x"])
    assert (o.verbose, o.last_pass) == (1, 3)


def test_flags_then_option_with_separate_value() -> None:
    o = parse_options(["-gvp", "4", "-e", "x"])
    assert (o.guru, o.verbose, o.last_pass) == (True, 1, 4)


def test_value_may_look_like_an_option() -> None:
    o = parse_options(["-e", "-p", "-o", "-v"])
    assert (o.script_text, o.output, o.verbose, o.last_pass) == ("-p", "-v", 0, 5)


def test_permutation_options_after_operands() -> None:
    o = parse_options(["script.stp", "-p2", "arg1", "-v", "arg2"])
    assert (o.script_file, o.args, o.last_pass, o.verbose) == (
        "script.stp",
        ["arg1", "arg2"],
        2,
        1,
    )


def test_double_dash_ends_options() -> None:
    o = parse_options(["-p1", "script.stp", "--", "-v", "--x", "-"])
    assert (o.script_file, o.args, o.verbose) == ("script.stp", ["-v", "--x", "-"], 0)


def test_double_dash_before_the_script() -> None:
    o = parse_options(["--", "-weird-name.stp", "a"])
    assert (o.script_file, o.args) == ("-weird-name.stp", ["a"])


def test_long_option_with_equals_or_separate_value() -> None:
    assert parse_options(["--runtime=python", "-e", "x"]).runtime == "python"
    assert parse_options(["--runtime", "python", "-e", "x"]).runtime == "python"
    assert parse_options(["--privilege", "stapsys", "-e", "x"]).privilege == "stapsys"


def test_long_option_with_empty_value() -> None:
    assert "is an invalid argument for --runtime" in usage_error(["--runtime=", "-e", "x"])


def test_unique_abbreviation_of_a_long_option() -> None:
    o = parse_options(["--priv=stapusr", "--unpriv", "--vers"])
    assert (o.privilege, o.version) == ("stapusr", True)
    assert parse_options(["--he"]).help


def test_exact_long_option_wins_over_longer_ones() -> None:
    # --remote is a prefix of --remote-prefix, and an option of its own
    o = parse_options(["--remote", "host", "-e", "x"])
    assert ("--remote", "host") in o.given


def test_given_keeps_every_option_in_order() -> None:
    o = parse_options(["-v", "-p", "2", "--runtime=python", "-e", "x", "-vD", "A=1"])
    assert o.given == [
        ("-v", None),
        ("-p", "2"),
        ("--runtime", "python"),
        ("-e", "x"),
        ("-v", None),
        ("-D", "A=1"),
    ]


def test_short_option_table_is_stap_4_8() -> None:
    assert SHORT_OPTIONS == "hVvtp:I:e:o:R:r:a:m:kgPc:x:D:bs:uqiwl:d:L:FS:B:WG:T:"


# ---------------------------------------------------------------------- getopt errors


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-Z"], "invalid option -- 'Z'"),
        (["-vZ"], "invalid option -- 'Z'"),
        (["-:"], "invalid option -- ':'"),
        (["--foo"], "unrecognized option '--foo'"),
        pytest.param(
            ["--foo=1"],
            "unrecognized option '--foo=1'",
            marks=pytest.mark.xfail(
                strict=True,
                reason="glibc getopt names the whole argument: stap 4.8 prints "
                "\"unrecognized option '--foo=1'\"; pystap drops '=1'",
            ),
        ),
        (["-e"], "option requires an argument -- 'e'"),
        (["-vp"], "option requires an argument -- 'p'"),
        (["--runtime"], "option '--runtime' requires an argument"),
        (["--help=x"], "option '--help' doesn't allow an argument"),
    ],
)
def test_getopt_errors(argv: list[str], message: str) -> None:
    assert usage_error(argv) == message


def test_ambiguous_long_option() -> None:
    assert usage_error(["--r=kernel"]).startswith("option '--r")
    assert "is ambiguous" in usage_error(["--r=kernel"])


@pytest.mark.xfail(
    strict=True,
    reason="glibc getopt (stap 4.8) names the whole argument and the candidates: "
    "\"option '--r=kernel' is ambiguous; possibilities: '--remote' '--remote-prefix' ...\"; "
    "pystap says \"option '--r' is ambiguous\"",
)
def test_ambiguous_long_option_lists_the_candidates() -> None:
    assert usage_error(["--r=kernel"]).startswith(
        "option '--r=kernel' is ambiguous; possibilities: '--remote' '--remote-prefix'"
    )


def test_every_long_option_is_known() -> None:
    for name in ("runtime", "privilege", "compatible", "tmpdir", "sysroot", "modinfo"):
        assert LONG_OPTIONS[name] is True
    for name in ("help", "version", "unprivileged", "ldd", "dump-functions", "color"):
        assert LONG_OPTIONS[name] is False


# ---------------------------------------------------------------------- script and arguments


def test_script_file_and_arguments() -> None:
    o = parse_options(["foo.stp", "a", "b c"])
    assert (o.script_file, o.script_text, o.args) == ("foo.stp", None, ["a", "b c"])


def test_script_text_takes_every_operand_as_an_argument() -> None:
    o = parse_options(["-e", "probe begin {}", "foo.stp", "a"])
    assert (o.script_file, o.script_text, o.args) == (None, "probe begin {}", ["foo.stp", "a"])


def test_standard_input_script() -> None:
    o = parse_options(["-", "arg"])
    assert (o.script_file, o.args) == ("-", ["arg"])


def test_no_script() -> None:
    o = parse_options(["-p2"])
    assert not o.has_script


@pytest.mark.xfail(
    strict=True,
    reason="stap 4.8 says 'Only one script can be given on the command line.'",
)
def test_two_scripts_with_e() -> None:
    assert (
        usage_error(["-e", "a", "-e", "b"]) == "Only one script can be given on the command line."
    )


def test_two_scripts_with_e_are_refused() -> None:
    assert "Only one script" in usage_error(["-e", "a", "-e", "b"])


# ---------------------------------------------------------------------- validation


@pytest.mark.parametrize("value", ["1", "2", "3", "4", "5"])
def test_pass_numbers(value: str) -> None:
    assert parse_options(["-p", value, "-e", "x"]).last_pass == int(value)


@pytest.mark.parametrize("value", ["0", "6", "x", "", "-1", "1.5", "12", "\u00b2", "\u0662"])
def test_invalid_pass_number(value: str) -> None:
    assert usage_error(["-p", value, "-e", "x"]) == "Invalid pass number (should be 1-5)."


@pytest.mark.parametrize("name", ["a", "my_mod", "stap_0123", "x" * 55])
def test_module_names(name: str) -> None:
    assert parse_options(["-m", name, "-e", "x"]).module_name == name


@pytest.mark.parametrize("name", ["a-b", "a.b", "a b", "", "é"])
def test_invalid_module_names(name: str) -> None:
    assert usage_error(["-m", name, "-e", "x"]) == (
        f"Invalid module name '{name}': use 1 to 55 of the characters a-z, 0-9 and _."
    )


@pytest.mark.xfail(
    strict=True,
    reason="stap 4.8 checks -m against '^[a-z0-9_]+$' case-insensitively: `stap -m AB` is "
    "accepted; pystap refuses upper case",
)
def test_upper_case_module_name() -> None:
    assert parse_options(["-m", "AB", "-e", "x"]).module_name == "AB"


@pytest.mark.xfail(
    strict=True,
    reason="stap 4.8 truncates a long -m name ('Truncating module name to ...') and goes "
    "on; pystap refuses it",
)
def test_long_module_name_is_truncated() -> None:
    assert parse_options(["-m", "x" * 60, "-e", "x"]).module_name == "x" * 55


@pytest.mark.parametrize(("value", "pid"), [("1", 1), ("4242", 4242), ("0x10", 16)])
def test_target_pid(value: str, pid: int) -> None:
    assert parse_options(["-x", value, "-e", "x"]).target_pid == pid


@pytest.mark.parametrize("value", ["abc", "", "12x", "-5x"])
def test_invalid_target_pid(value: str) -> None:
    assert usage_error(["-x", value, "-e", "x"]) == "Invalid target process ID number."


@pytest.mark.xfail(
    strict=True,
    reason="stap 4.8 reads -x with strtoul and accepts 0 (and -5); pystap refuses them",
)
def test_target_pid_zero_is_accepted() -> None:
    assert parse_options(["-x", "0", "-e", "x"]).target_pid == 0


def test_command_and_target_together() -> None:
    assert (
        usage_error(["-c", "ls", "-x", "1", "-e", "x"]) == "You can't specify -c and -x together."
    )


def test_command() -> None:
    assert parse_options(["-c", "ls -l", "-e", "x"]).command == "ls -l"


def test_guru_and_lower_privilege_together() -> None:
    assert usage_error(["-g", "--privilege=stapusr", "-e", "x"]) == (
        "You can't specify -g and --privilege=stapusr together."
    )
    assert parse_options(["-g", "--privilege=stapdev", "-e", "x"]).guru


@pytest.mark.parametrize(
    ("value", "ok"),
    [("python", True), ("kernel", True), ("bpf", True), ("dyninst", True), ("foo", False)],
)
def test_runtime_values(value: str, ok: bool) -> None:
    if ok:
        assert parse_options([f"--runtime={value}", "-e", "x"]).runtime == value
    else:
        assert (
            usage_error([f"--runtime={value}", "-e", "x"])
            == "foo is an invalid argument for --runtime"
        )


def test_privilege() -> None:
    assert parse_options(["--privilege=stapusr", "-e", "x"]).privilege == "stapusr"
    assert parse_options(["--unprivileged", "-e", "x"]).privilege == "stapusr"
    assert usage_error(["--privilege=root", "-e", "x"]).startswith(
        "Invalid argument 'root' for --privilege"
    )


def test_defines() -> None:
    o = parse_options(["-D", "MAXACTION=10", "-DFOO", "-D", "BAR=a=b", "-e", "x"])
    assert o.defines == [("MAXACTION", "10"), ("FOO", ""), ("BAR", "a=b")]


@pytest.mark.parametrize("value", ["1x", "=1", "A-B=1", ""])
def test_invalid_defines(value: str) -> None:
    assert usage_error(["-D", value, "-e", "x"]).startswith(f"Invalid -D option '{value}'")


def test_global_settings() -> None:
    o = parse_options(["-G", "n=5", "-G", "s=a b", "-e", "x"])
    assert o.globals == [("n", "5"), ("s", "a b")]


@pytest.mark.parametrize("value", ["x", "=1", "1x=2"])
def test_invalid_global_settings(value: str) -> None:
    assert usage_error(["-G", value, "-e", "x"]).startswith(f"Invalid -G option '{value}'")


def test_kernel_release_and_arch() -> None:
    o = parse_options(["-r", "6.1.0-57-amd64", "-a", "arm64", "-e", "x"])
    assert (o.kernel_release, o.arch) == ("6.1.0-57-amd64", "arm64")
    assert (
        usage_error(["-r", "bad release!", "-e", "x"]) == "Invalid kernel release 'bad release!'."
    )


def test_compatible() -> None:
    assert parse_options(["--compatible=4.0", "-e", "x"]).compatible == "4.0"
    assert usage_error(["--compatible=abc", "-e", "x"]) == "Invalid --compatible version 'abc'."
    # digits of other scripts are not version digits
    for v in ("\u0663", "4.\u0663", "4.8\n"):
        message = f"Invalid --compatible version '{v}'."
        assert usage_error([f"--compatible={v}", "-e", "x"]) == message


def test_output_include_and_harmless_options() -> None:
    o = parse_options(
        [
            "-o",
            "out.txt",
            "-I",
            "dir1",
            "-Idir2",
            "-k",
            "-u",
            "-t",
            "-q",
            "-P",
            "-W",
            "-s",
            "4",
            "-d",
            "x",
            "--disable-cache",
            "--color",
            "-e",
            "x",
        ]
    )
    assert (o.output, o.include, o.unsupported) == ("out.txt", ["dir1", "dir2"], [])


def test_unsupported_options_are_collected() -> None:
    o = parse_options(["--dump-functions", "-e", "x", "--dump-probe-aliases"])
    assert o.unsupported == ["--dump-functions", "--dump-probe-aliases"]


def test_list_options_make_the_script() -> None:
    o = parse_options(["-L", "syscall.open"])
    assert (o.list_probes, o.list_variables, o.script_text, o.last_pass) == (
        "syscall.open",
        True,
        "probe syscall.open {}",
        2,
    )


def test_no_global_var_display() -> None:
    assert parse_options(["--no-global-var-display", "-e", "x"]).no_global_display


def test_options_object_is_plain_data() -> None:
    assert isinstance(parse_options(["-e", "x"]), Options)

"""server.daemon.request_runtime: the runtime a request asks for, read by the front end's
own option parser."""

from __future__ import annotations

import pytest

from stapserver.server.daemon import parsed, request_runtime


@pytest.mark.parametrize(
    ("argv", "runtime"),
    [
        (["-e", "probe begin {}"], "kernel"),  # SystemTap's default
        (["--runtime=python", "-e", "x"], "python"),
        (["--runtime", "python", "-e", "x"], "python"),
        (["--run=python", "-e", "x"], "python"),  # an abbreviation, as getopt takes it
        (["--runt", "bpf", "-e", "x"], "bpf"),
        (["--runtime=bpf", "--runtime=python", "-e", "x"], "python"),  # the last one
        (["-e", "x", "--", "--runtime=python"], "kernel"),  # a script argument
        (["-p2", "-e", "x", "--runtime=bpf"], "bpf"),  # after the script: still an option
    ],
)
def test_read_as_the_front_end_reads_it(argv: list[str], runtime: str) -> None:
    assert request_runtime(parsed(argv), stap_builds=True) == runtime
    assert request_runtime(parsed(argv), stap_builds=False) == runtime


def test_a_command_line_that_does_not_parse_goes_where_it_is_explained() -> None:
    bad = ["--runtime=nonsense", "-e", "x"]
    assert parsed(bad) is None
    assert request_runtime(parsed(bad), stap_builds=True) == "kernel"  # stap says what is wrong
    assert request_runtime(parsed(bad), stap_builds=False) == "python"  # our front end does

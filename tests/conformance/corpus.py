"""The conformance corpus: scripts with the output, errors and exit status SystemTap
gives them, written from SystemTap's documentation.

Each case is ``cases/NAME.stp`` with:

- ``NAME.out``: the exact standard output (required);
- ``NAME.err``: the exact standard error (absent: it must be empty);
- ``NAME.rc``: the exit status (absent: 0);
- ``NAME.opts``: command-line words, one per line, put before the script; a line ``--``
  ends them and the lines after it are the script's own arguments;
- ``NAME.known``: a known divergence from SystemTap, and why (the case is a strict
  expected failure: it starts failing the suite the day the divergence is fixed).

Cases run with the case folder as the working directory and the script named by its
file name, so locations in messages read ``NAME.stp:LINE:COLUMN``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CASES = Path(__file__).parent / "cases"


@dataclass(frozen=True)
class Case:
    name: str
    script: Path
    stdout: bytes
    stderr: bytes
    status: int
    options: list[str]
    args: list[str]
    known: str = ""

    def argv(self) -> list[str]:
        """The stap command line (without the program name)."""
        return [*self.options, self.script.name, *self.args]


def load_cases() -> list[Case]:
    cases = []
    for script in sorted(CASES.glob("*.stp")):
        name = script.stem
        out = script.with_suffix(".out")
        err = script.with_suffix(".err")
        rc = script.with_suffix(".rc")
        opts = script.with_suffix(".opts")
        known = script.with_suffix(".known")
        options: list[str] = []
        args: list[str] = []
        if opts.exists():
            words = opts.read_text().splitlines()
            if "--" in words:
                cut = words.index("--")
                options, args = words[:cut], words[cut + 1 :]
            else:
                options = words
        cases.append(
            Case(
                name=name,
                script=script,
                stdout=out.read_bytes(),
                stderr=err.read_bytes() if err.exists() else b"",
                status=int(rc.read_text().strip()) if rc.exists() else 0,
                options=options,
                args=args,
                known=known.read_text().strip() if known.exists() else "",
            )
        )
    return cases

"""``pystap``: SystemTap's front end with the python runtime (passes 1–5 here)."""

from __future__ import annotations

import sys

from ..frontend.driver import main as frontend_main
from .common import run_command


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return run_command(lambda: frontend_main(args), "pystap")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``stap-client [--server=HOST[:PORT]]... [--ssl=DIR]... [stap arguments]``."""

from __future__ import annotations

import sys

from ..client.client import main as client_main
from .common import exit_at_once, run_command


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return run_command(lambda: client_main(args), "stap-client")


def entry() -> None:
    """The installed ``stap-client``."""
    exit_at_once(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

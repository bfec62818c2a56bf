"""Run every benchmark and print its figures (``make bench``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    status = 0
    for script in sorted(HERE.glob("bench_*.py")):
        result = subprocess.run([sys.executable, str(script)], check=False)
        status |= result.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())

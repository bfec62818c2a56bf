"""Write the python runtime's tracepoint catalogue from this machine's tracefs.

    python tools/tracepoint_catalogue.py [TRACEFS]   (as root)

Pass 2 resolves ``kernel.trace("GROUP:EVENT")`` and the tapset aliases built on it from
this catalogue (``src/stapserver/translator/tracepoints.txt.gz``), so that a server
without tracefs, or with another kernel, translates the same way; the module checks
each event against the running kernel when it starts.  One line per event:
``group:event`` then, tab-separated, each non-common field as ``name;ctype;size;signed``.
"""

from __future__ import annotations

import gzip
import os
import sys

from stapserver.runtime.kernel.tracefs import parse_format

OUT = os.path.join(
    os.path.dirname(__file__), "..", "src", "stapserver", "translator", "tracepoints.txt.gz"
)


def fields(path: str) -> list[str]:
    """An event's fields as the catalogue lists them (the runtime's own parser)."""
    with open(path) as f:
        parsed, _ = parse_format(f.read())
    return [f"{x.name};{x.ctype};{x.size};{int(x.signed)}" for x in parsed]


def main() -> int:
    root = sys.argv[1] if len(sys.argv) > 1 else "/sys/kernel/tracing"
    events = os.path.join(root, "events")
    lines = []
    for group in sorted(os.listdir(events)):
        gdir = os.path.join(events, group)
        if not os.path.isdir(gdir):
            continue
        for name in sorted(os.listdir(gdir)):
            fmt = os.path.join(gdir, name, "format")
            if os.path.isfile(fmt):
                lines.append("\t".join([f"{group}:{name}", *fields(fmt)]))
    data = ("\n".join(lines) + "\n").encode()
    with gzip.GzipFile(OUT, "wb", mtime=0) as f:
        f.write(data)
    print(f"{len(lines)} events written to {os.path.normpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Kernel symbols for addresses a perf sample gives (``symname(addr())``): /proc/kallsyms.

Read once, on the first lookup; as root the file gives real addresses (others see
zeros, and every lookup then answers with the address in hex, as stap does for an
address it cannot name).
"""

from __future__ import annotations

import bisect

_table: list[tuple[list[int], list[str]]] = []


def _load() -> tuple[list[int], list[str]]:
    if _table:
        return _table[0]
    pairs: list[tuple[int, str]] = []
    try:
        with open("/proc/kallsyms", "rb") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3 or parts[1] not in b"tTwW":
                    continue
                addr = int(parts[0], 16)
                if addr:
                    pairs.append((addr, parts[2].decode("ascii", "replace")))
    except OSError:
        pass
    pairs.sort()
    _table.append(([a for a, _ in pairs], [n for _, n in pairs]))
    return _table[0]


def kernel_symbol(addr: int) -> str | None:
    """The kernel function containing ``addr`` (the nearest text symbol at or below),
    or None."""
    a = addr & 0xFFFF_FFFF_FFFF_FFFF
    if a < 0xFFFF_8000_0000_0000:  # a user-space address
        return None
    addrs, names = _load()
    i = bisect.bisect_right(addrs, a) - 1
    return names[i] if i >= 0 else None

"""Reading a BPF ring buffer map from user space (Documentation/bpf/ringbuf.rst).

Layout: page 0 holds consumer_pos (mapped read-write); page 1 holds producer_pos and is
followed by the data area mapped twice in a row (read-only), so a record that wraps
around the end is still contiguous.  Each record is an 8-byte header (u32 length with
BUSY and DISCARD bits, u32 page offset) and its data, padded to 8 bytes.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable

from stapserver.runtime.kernel import KernelError

BUSY = 1 << 31
DISCARD = 1 << 30
_LEN_MASK = ~(BUSY | DISCARD) & 0xFFFFFFFF


class RingBuffer:
    """The consumer side of one ringbuf map (``data_size`` bytes of data area)."""

    def __init__(self, map_fd: int, data_size: int) -> None:
        self.map_fd = map_fd
        self.data_size = data_size
        self._mask = data_size - 1
        page = mmap.PAGESIZE
        try:
            self._cons_map = mmap.mmap(
                map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
            )
            self._prod_map = mmap.mmap(
                map_fd, page + 2 * data_size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page
            )
        except OSError as e:
            raise KernelError(f"cannot map the BPF ring buffer: {e.strerror}") from None
        self._cons = memoryview(self._cons_map).cast("Q")
        self._prod = memoryview(self._prod_map).cast("Q")
        whole = memoryview(self._prod_map)
        # data: starts after the producer page; readable for 2 * data_size bytes
        self.data = whole[page:]
        self._hdr = self.data.cast("I")
        self._pending: int | None = None

    def fileno(self) -> int:
        """The map fd: epoll/select report it readable when the kernel wakes consumers."""
        return self.map_fd

    @property
    def consumer_pos(self) -> int:
        """The kernel's consumer position."""
        return int(self._cons[0])

    @property
    def producer_pos(self) -> int:
        """The kernel's producer position."""
        return int(self._prod[0])

    def pending_bytes(self) -> int:
        """Bytes reserved by producers and not yet consumed."""
        return int(self._prod[0] - self._cons[0])

    def drain(self, handle: Callable[[memoryview, int, int], None]) -> int:
        """Call ``handle(data, offset, length)`` for each committed record, in order,
        stopping at one still being written; free them; return how many were handled.
        ``data[offset:offset+length]`` is the record's data (valid only during the call).
        """
        cons = int(self._cons[0])
        prod = int(self._prod[0])
        hdr = self._hdr
        mask = self._mask
        n = 0
        start = cons
        while cons < prod:
            off = cons & mask
            word = hdr[off >> 2]
            if word & BUSY:
                break
            length = word & _LEN_MASK
            if not word & DISCARD:
                handle(self.data, off + 8, length)
                n += 1
            cons += (length + 15) & ~7
        if cons != start:
            self._cons[0] = cons
        return n

    def drain_batch(self) -> tuple[memoryview, list[tuple[int, int]]]:
        """The committed records as (data, [(offset, length), ...]) without freeing them:
        call :meth:`release` once they are decoded."""
        cons = int(self._cons[0])
        prod = int(self._prod[0])
        hdr = self._hdr
        mask = self._mask
        out: list[tuple[int, int]] = []
        append = out.append
        while cons < prod:
            off = cons & mask
            word = hdr[off >> 2]
            if word & BUSY:
                break
            length = word & _LEN_MASK
            if not word & DISCARD:
                append((off + 8, length))
            cons += (length + 15) & ~7
        self._pending = cons
        return self.data, out

    def release(self) -> None:
        """Free the records the last :meth:`drain_batch` returned."""
        if self._pending is not None:
            self._cons[0] = self._pending
            self._pending = None

    def close(self) -> None:
        """Unmap (the map fd is not closed here). Idempotent."""
        if self._cons_map.closed:
            return
        self._cons.release()
        self._prod.release()
        self._hdr.release()
        self.data.release()
        self._cons_map.close()
        self._prod_map.close()

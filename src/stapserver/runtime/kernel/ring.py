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
        self.mask = data_size - 1
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
        # consumer[0], producer[0]: the positions (store the consumer's with one 8-byte
        # store, as this does); headers: the data area as u32 words, a record's header
        # at headers[(pos & mask) >> 2]; the engine walks them itself (runtime/engine.py)
        self.consumer = memoryview(self._cons_map).cast("Q")
        self.producer = memoryview(self._prod_map).cast("Q")
        whole = memoryview(self._prod_map)
        # data: starts after the producer page; readable for 2 * data_size bytes
        self.data = whole[page:]
        self.headers = self.data.cast("I")

    def fileno(self) -> int:
        """The map fd: epoll/select report it readable when the kernel wakes consumers."""
        return self.map_fd

    @property
    def consumer_pos(self) -> int:
        """The kernel's consumer position."""
        return int(self.consumer[0])

    @property
    def producer_pos(self) -> int:
        """The kernel's producer position."""
        return int(self.producer[0])

    def pending_bytes(self) -> int:
        """Bytes reserved by producers and not yet consumed."""
        return int(self.producer[0] - self.consumer[0])

    def drain(self, handle: Callable[[memoryview, int, int], None]) -> int:
        """Call ``handle(data, offset, length)`` for each committed record, in order,
        stopping at one still being written; free them; return how many were handled.
        ``data[offset:offset+length]`` is the record's data (valid only during the call).
        """
        cons = int(self.consumer[0])
        prod = int(self.producer[0])
        hdr = self.headers
        mask = self.mask
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
            self.consumer[0] = cons
        return n

    def close(self) -> None:
        """Unmap (the map fd is not closed here). Idempotent."""
        if self._cons_map.closed:
            return
        self.consumer.release()
        self.producer.release()
        self.headers.release()
        self.data.release()
        self._cons_map.close()
        self._prod_map.close()

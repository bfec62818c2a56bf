"""Browsing for ``_stap._tcp`` services: one-shot mDNS questions, answers as they come,
and no longer than needed.

SystemTap browses for a fixed half second, its 2009 script for up to ten.  Here the
question goes out at once on every multicast interface, over IPv4 and IPv6, from an
ephemeral port: a "legacy unicast" query (RFC 6762 5.1, 6.7), which avahi and
python-zeroconf answer straight back, without the 20-120 ms delay of a multicast answer.
Answers are assembled per service instance (:class:`.mdns.Answers`: IPv4 and IPv6
answers of one instance are one advert); what an answer left out is asked for at once.

When to stop: the instances seen last time are remembered (a small file in the user's
SystemTap folder).  Once each of them has answered in full, and nothing new for
``settle_known``, the answer is complete.  Without that (the first time, or a server
gone since), browsing ends ``settle`` after the last answer and no sooner than
``window`` after the question; ``timeout`` bounds it all.  A fixed ``listen`` time is
for a slow network, where answers come late: it listens that long whatever comes.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import NetworkError
from .adverts import SERVICE_TYPE, Advert
from .mdns import (
    MDNS_PORT,
    MDNS_V4,
    MDNS_V6,
    TYPE_PTR,
    Answers,
    MalformedMessage,
    decode_response,
    encode_query,
)
from .netinfo import multicast_interfaces

WINDOW = 0.25  # no sooner than this after the question, when the answer is not known complete
SETTLE = 0.1  # after the last answer, likewise
SETTLE_KNOWN = 0.02  # after the last answer, once every instance seen last time has answered
RESEND = (0.05, 0.15)  # the question again, while the answer is not complete (a lost packet)
TIMEOUT = 5.0
MAX_PACKET = 9000
MAX_REMEMBERED = 64
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's value; typeshed lacks the name


class Browser:
    """A browse in progress: the question goes out when it starts, so the caller can do
    other work (load its certificate databases) while the answers come in."""

    def __init__(
        self,
        *,
        memory: Path | None = None,
        listen: float | None = None,
        timeout: float = TIMEOUT,
        window: float = WINDOW,
        settle: float = SETTLE,
        settle_known: float = SETTLE_KNOWN,
    ) -> None:
        self.memory = memory
        self.listen, self.timeout = listen, timeout
        self.window, self.settle, self.settle_known = window, settle, settle_known
        self.remembered = _recall(memory)
        self.answers = Answers()
        self.query_id = int.from_bytes(os.urandom(2), "big")
        self.interfaces = multicast_interfaces()
        self._sockets: list[socket.socket] = []
        errors: list[str] = []
        for family in (socket.AF_INET, socket.AF_INET6):
            try:
                self._sockets.append(_socket(family))
            except OSError as err:
                errors.append(err.strerror or str(err))
        if not self._sockets:
            raise NetworkError(f"cannot browse the local network: {errors[0]}")
        self.start = time.monotonic()
        self._resends = [self.start + r for r in RESEND]
        self._ask([(SERVICE_TYPE, TYPE_PTR)])

    # ------------------------------------------------------------------ sending
    def _ask(self, questions: list[tuple[str | tuple[str, ...], int]]) -> None:
        """The questions, once on every interface (IPv4 and IPv6)."""
        packet = encode_query(questions, query_id=self.query_id)
        for sock in self._sockets:
            for index, _ in self.interfaces:
                try:
                    if sock.family == socket.AF_INET:
                        mreqn = struct.pack("=4s4si", bytes(4), bytes(4), index)
                        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
                        sock.sendto(packet, (MDNS_V4, MDNS_PORT))
                    else:
                        sock.sendto(packet, (MDNS_V6, MDNS_PORT, 0, index))
                except OSError:
                    continue  # an interface without an address of this family

    # ------------------------------------------------------------------ receiving
    def _receive(self, sock: socket.socket) -> bool:
        """Take one datagram; True if it added to the answers."""
        try:
            data, ancillary, _, source = sock.recvmsg(MAX_PACKET, 64)
        except OSError:
            return False
        if source[1] != MDNS_PORT:
            return False  # mDNS answers come from the mDNS port
        try:
            query_id, records = decode_response(data)
        except MalformedMessage:
            return False
        if query_id != self.query_id or not records:
            return False
        self.answers.add(records, scope=_arrival_interface(ancillary, dict(self.interfaces)))
        return True

    def _complete(self) -> bool:
        """Has every instance seen last time answered in full, and every one seen now?"""
        seen = self.answers.instances()
        if not self.remembered or not seen:
            return False
        folded = {label.casefold() for label in seen}
        if any(label.casefold() not in folded for label in self.remembered):
            return False
        return all(self.answers.complete(label) for label in seen)

    def _deadline(self, last: float | None) -> float:
        if self.listen is not None:
            return self.start + self.listen
        end = (
            self.start + self.window
            if last is None
            else max(self.start + self.window, last + self.settle)
        )
        if last is not None and self._complete():
            end = last + self.settle_known
        return min(end, self.start + self.timeout)

    def adverts(self) -> Iterator[Advert]:
        """Each server's target as its answer completes, each once; ends when the
        answers stop coming (or the answer is known complete)."""
        yielded: set[str] = set()
        asked: set[tuple[tuple[str, ...], int]] = set()
        last: float | None = None
        while True:
            now = time.monotonic()
            stop = self._deadline(last)
            if now >= stop:
                break
            wake = stop
            if self._resends:
                if now >= self._resends[0]:
                    self._resends.pop(0)
                    if not self._complete():
                        self._ask([(SERVICE_TYPE, TYPE_PTR)])
                    continue
                wake = min(wake, self._resends[0])
            ready, _, _ = select.select(self._sockets, [], [], wake - now)
            if not any([self._receive(sock) for sock in ready]):
                continue
            last = time.monotonic()
            missing = [q for q in self.answers.missing() if q not in asked]
            if missing:  # an answer that left something out: ask for it now
                asked.update(missing)
                self._ask(list(missing))
            for label in self.answers.instances():
                advert = self.answers.advert(label)
                if advert is not None and label.casefold() not in yielded:
                    yielded.add(label.casefold())
                    yield advert
        self._remember([x for x in self.answers.instances() if x.casefold() in yielded])

    def _remember(self, labels: list[str]) -> None:
        """Keep what was seen for next time (only when it changed): one label a line."""
        labels = [x for x in labels if "\n" not in x][:MAX_REMEMBERED]
        if self.memory is None or labels == self.remembered:
            return
        from ..files import write_atomic

        data = "".join(f"{label}\n" for label in labels).encode("utf-8", "surrogateescape")
        try:
            self.memory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(self.memory, data, mode=0o600)
        except OSError:
            pass  # a read-only home: browsing works, only slower next time

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []


def _socket(family: socket.AddressFamily) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            sock.bind(("0.0.0.0", 0))
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            sock.bind(("::", 0))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _arrival_interface(
    ancillary: list[tuple[int, int, bytes]], names: dict[int, str]
) -> str | None:
    """The interface a datagram came in on (IP_PKTINFO / IPV6_PKTINFO), by name."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= 4:
            return names.get(struct.unpack_from("=i", data)[0])
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(data) >= 20:
            return names.get(struct.unpack_from("=I", data, 16)[0])
    return None


def _recall(memory: Path | None) -> list[str]:
    """The instances seen last time ([] when there is no memory or it is unreadable)."""
    if memory is None:
        return []
    try:
        text = memory.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return []
    return [label for label in text.splitlines() if label][:MAX_REMEMBERED]


def browse(*, memory: Path | None = None, timeout: float = TIMEOUT) -> list[Advert]:
    """Every server answering on the local network, each target once (remembering them
    in ``memory`` for the next browse)."""
    with Browser(memory=memory, timeout=timeout) as b:
        return list(b.adverts())


def memory_file() -> Path:
    """Where a user's browses remember the instances they saw: in the SystemTap folder
    (``$SYSTEMTAP_DIR``, else ``~/.systemtap``), ``stapserver/servers-seen``."""
    from ..trust.layout import systemtap_dir

    return systemtap_dir() / "stapserver" / "servers-seen"


__all__ = ["SETTLE", "SETTLE_KNOWN", "TIMEOUT", "WINDOW", "Browser", "browse", "memory_file"]

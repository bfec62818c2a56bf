"""Browsing for ``_stap._tcp`` services: answers as they come, and no longer than needed.

SystemTap browses for a fixed half second, its 2009 script for up to ten.  Here a query
goes out and the answers are taken as they arrive; browsing ends once no new answer has
come for ``settle`` seconds (and at least ``window`` seconds after the query, long enough
for every responder's 20-120 ms answer delay), or at ``timeout`` in any case.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

from ..errors import NetworkError
from .adverts import SERVICE_TYPE, Advert, decode_txt
from .netinfo import scope_name

WINDOW = 0.3
SETTLE = 0.15
TIMEOUT = 5.0


def _advert(info: object) -> Advert | None:
    from zeroconf import ServiceInfo

    assert isinstance(info, ServiceInfo)
    if info.port is None:
        return None
    label = (
        info.name[: -len(SERVICE_TYPE) - 1] if info.name.endswith("." + SERVICE_TYPE) else info.name
    )
    host = (info.server or "").rstrip(".")
    addresses = tuple(scope_name(a) for a in info.parsed_scoped_addresses())
    return Advert(label, host, int(info.port), addresses, decode_txt(info.properties))


class Browser:
    """A browse in progress: the query goes out when it starts, so the caller can do
    other work (load its certificate databases) while the answers come in."""

    def __init__(
        self,
        *,
        timeout: float = TIMEOUT,
        window: float = WINDOW,
        settle: float = SETTLE,
    ) -> None:
        try:
            from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf
        except ImportError as err:  # pragma: no cover - a dependency
            raise NetworkError(f"cannot browse the local network: {err}") from None
        self.timeout, self.window, self.settle = timeout, window, settle
        self.start = time.monotonic()
        self._names: queue.Queue[str] = queue.Queue()
        try:
            self._zc = Zeroconf(ip_version=IPVersion.All)
        except OSError as err:
            raise NetworkError(f"cannot browse the local network: {err.strerror or err}") from None
        names = self._names

        def handler(
            zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
        ) -> None:
            if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
                names.put(name)

        self._browser = ServiceBrowser(self._zc, SERVICE_TYPE, handlers=[handler])
        self._ask_now()

    def _ask_now(self) -> None:
        """Ask at once.  The browser's own first query waits 20-120 ms (RFC 6762 5.2,
        against many queriers started by one event); a user's command is no such crowd,
        and the wait would be most of the time to an answer.  The question asks for a
        unicast reply (QU), as a first query should (5.4)."""
        try:  # zeroconf's own message classes (not in its __all__: stable since 0.39)
            from zeroconf._dns import DNSQuestion
            from zeroconf._protocol.outgoing import DNSOutgoing
            from zeroconf.const import _CLASS_IN, _FLAGS_QR_QUERY, _TYPE_PTR
        except ImportError:  # pragma: no cover - the browser's own query follows anyway
            return
        out = DNSOutgoing(_FLAGS_QR_QUERY)
        question = DNSQuestion(SERVICE_TYPE, _TYPE_PTR, _CLASS_IN)
        question.unicast = True
        out.add_question(question)
        self._zc.send(out)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._browser.cancel()
        self._zc.close()

    def adverts(self) -> Iterator[Advert]:
        """Each server's target as its answer arrives, each once; ends when the answers
        stop coming."""
        from zeroconf import ServiceInfo

        seen: set[str] = set()
        last = self.start
        while True:
            now = time.monotonic()
            end = min(self.start + self.timeout, max(self.start + self.window, last + self.settle))
            if now >= end:
                return
            try:
                name = self._names.get(timeout=end - now)
            except queue.Empty:
                continue
            last = time.monotonic()
            if name in seen:
                continue
            info = ServiceInfo(SERVICE_TYPE, name)
            if not info.load_from_cache(self._zc):
                remaining = self.start + self.timeout - time.monotonic()
                if remaining <= 0 or not info.request(self._zc, int(min(remaining, 1.0) * 1000)):
                    continue
            advert = _advert(info)
            last = time.monotonic()
            if advert is not None:
                seen.add(name)
                yield advert


def browse(
    *,
    timeout: float = TIMEOUT,
    window: float = WINDOW,
    settle: float = SETTLE,
) -> list[Advert]:
    """Every server answering on the local network, each target once."""
    with Browser(timeout=timeout, window=window, settle=settle) as b:
        return list(b.adverts())


__all__ = ["SETTLE", "TIMEOUT", "WINDOW", "Browser", "browse"]

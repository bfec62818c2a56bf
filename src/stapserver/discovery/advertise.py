"""A server's advertisement: one ``_stap._tcp`` service per target, kept current.

It registers in the background (multicast DNS probes for a unique name first, a clash
gets `` #2``, `` #3``…); :attr:`Advertiser.announced` resolves once every service
answers queries and its first announcement is out (or says why there is none), which is
when ``stap-start-server`` reports the server started.  It refreshes the ``slots`` entry
when the number of free build slots changes (at most once a second), re-announces on new
addresses when the machine's addresses change, and withdraws everything on
:meth:`Advertiser.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass

from .adverts import SERVICE_TYPE, instance_label, service_txt
from .netinfo import LocalAddress, advertisable, local_addresses

MAX_CLASHES = 50
ADDRESS_POLL = 5.0
SETTLE = 1.0
SLOTS_INTERVAL = 1.0


@dataclass(frozen=True)
class TargetEntry:
    """What one advertised service says besides the slots."""

    release: str
    arch: str
    runtimes: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    hostname: str
    port: int
    version: str
    certinfo: str
    certsha256: str
    keysha256: str
    optinfo: str = ""


class Advertiser:
    def __init__(
        self,
        identity: Identity,
        targets: list[TargetEntry],
        listen: str,
        free_slots: Callable[[], int],
        log: Callable[[str], None],
        addresses: Callable[[], list[LocalAddress]] = local_addresses,
    ) -> None:
        self.identity = identity
        self.targets = targets
        self.listen = listen
        self.free_slots = free_slots
        self.log = log
        self._addresses = addresses
        self._zc: object | None = None
        self._task: asyncio.Task[None] | None = None
        self._slots_dirty = asyncio.Event()
        self._current: list[LocalAddress] = []
        self._entries: list[tuple[TargetEntry, str]] = []
        self._slots = 0  # what the advertisement says: set when it is made
        self._broadcasts: list[asyncio.Future[object]] = []  # announcements still going out
        # None once the services answer queries (or there is nothing to advertise:
        # loopback only), else why the server is not advertised
        self.announced: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def slots_changed(self) -> None:
        self._slots_dirty.set()

    async def wait_announced(self, timeout: float) -> str | None:
        """Until the first announcement is out: None, or why the server is not advertised."""
        try:
            return await asyncio.wait_for(asyncio.shield(self.announced), timeout)
        except TimeoutError:
            return f"the advertisement was not out within {timeout:.0f} s"

    def _settle(self, why: str | None) -> None:
        if not self.announced.done():
            self.announced.set_result(why)

    async def stop(self) -> None:
        self._settle("the server stopped")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._withdraw()

    # ------------------------------------------------------------------ work
    def _reachable(self) -> list[LocalAddress]:
        return advertisable(self._addresses(), self.listen)

    async def _run(self) -> None:
        try:
            await self._announce(self._reachable())
            self._settle(None)
            loop = asyncio.get_running_loop()
            next_poll = loop.time() + ADDRESS_POLL
            while True:
                timeout = max(0.0, next_poll - loop.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slots_dirty.wait(), timeout)
                if self._slots_dirty.is_set():
                    self._slots_dirty.clear()
                    await self._refresh_slots()
                    await asyncio.sleep(SLOTS_INTERVAL)
                if loop.time() >= next_poll:
                    next_poll = loop.time() + ADDRESS_POLL
                    now = self._reachable()
                    if {a.address for a in now} != {a.address for a in self._current}:
                        # renumbering comes in steps (new address, then the old one
                        # removed): act once, on where it settles
                        await asyncio.sleep(SETTLE)
                        now = self._reachable()
                        self.log(
                            "addresses changed: now "
                            + (", ".join(a.address for a in now) or "none")
                        )
                        await self._withdraw()
                        await self._announce(now)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the server keeps serving without an advertisement
            self.log(f"advertisement stopped: {err}")
            self._settle(f"advertisement failed: {err}")

    def _info(self, target: TargetEntry, label: str, addrs: list[LocalAddress]) -> object:
        from zeroconf import ServiceInfo

        ident = self.identity
        txt = service_txt(
            release=target.release,
            arch=target.arch,
            version=ident.version,
            certinfo=ident.certinfo,
            optinfo=ident.optinfo,
            runtimes=target.runtimes,
            certsha256=ident.certsha256,
            keysha256=ident.keysha256,
            slots=self._slots,
        )
        packed = [a.ip.packed for a in addrs]
        return ServiceInfo(
            SERVICE_TYPE,
            f"{label}.{SERVICE_TYPE}",
            port=ident.port,
            properties=txt,
            server=f"{ident.hostname.split('.', 1)[0]}.local.",
            addresses=packed,
        )

    async def _announce(self, addrs: list[LocalAddress]) -> None:
        """Register every target on ``addrs``; returns once each answers queries and its
        first announcement is sent (the rest go out in the background)."""
        from zeroconf import IPVersion, NonUniqueNameException
        from zeroconf.asyncio import AsyncZeroconf

        self._current = addrs
        self._slots = self.free_slots()
        if not addrs:  # nothing to advertise (loopback only): no failure
            self.log("not advertised: no address reachable from the network")
            return None
        interfaces: list[str | tuple[tuple[str, int, int], int]] = []
        v4 = v6 = False
        for a in addrs:
            if a.ip.version == 4:
                interfaces.append(str(a.ip))
                v4 = True
            else:
                interfaces.append(
                    ((str(a.ip), 0, a.ifindex if a.ip.is_link_local else 0), a.ifindex)
                )
                v6 = True
        version = IPVersion.All if v4 and v6 else (IPVersion.V4Only if v4 else IPVersion.V6Only)
        aiozc = AsyncZeroconf(interfaces=interfaces, ip_version=version)
        self._zc = aiozc
        n = 1
        for target in self.targets:
            while True:
                label = instance_label(self.identity.hostname, n)
                info = self._info(target, label, addrs)
                try:
                    # probing done, the service answers; its announcements follow
                    broadcast = await aiozc.async_register_service(info)  # type: ignore[arg-type]
                except NonUniqueNameException:
                    n += 1
                    if n > MAX_CLASHES:
                        raise
                    continue
                self._broadcasts.append(asyncio.ensure_future(broadcast))
                self._entries.append((target, label))
                self.log(
                    f"advertised {label} ({target.release} {target.arch}, "
                    f"{','.join(target.runtimes)}) on {', '.join(a.address for a in addrs)}"
                )
                n += 1
                break
        await asyncio.sleep(0)  # the first announcement of each goes out now
        self._broadcasts = [b for b in self._broadcasts if not b.done()]

    async def _refresh_slots(self) -> None:
        from zeroconf.asyncio import AsyncZeroconf

        aiozc = self._zc
        if not isinstance(aiozc, AsyncZeroconf):
            return
        slots = self.free_slots()
        if slots == self._slots:
            return
        self._slots = slots
        for target, label in self._entries:
            info = self._info(target, label, self._current)
            await (await aiozc.async_update_service(info))  # type: ignore[arg-type]

    async def _withdraw(self) -> None:
        from zeroconf.asyncio import AsyncZeroconf

        for broadcast in self._broadcasts:
            broadcast.cancel()
        self._broadcasts = []
        aiozc = self._zc
        self._zc = None
        if not isinstance(aiozc, AsyncZeroconf):
            self._entries = []
            return
        with contextlib.suppress(Exception):
            await aiozc.async_unregister_all_services()
        with contextlib.suppress(Exception):
            await aiozc.async_close()
        self._entries = []


def hostname() -> str:
    return socket.gethostname().split(".", 1)[0] or "localhost"


__all__ = ["Advertiser", "Identity", "TargetEntry", "hostname"]

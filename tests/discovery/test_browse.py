"""discovery.browse: what a browse remembers for the next one, and where an answer came
in (the network part runs on namespaced networks: tests/e2e/test_discovery.py and
test_first_minute.py)."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from stapserver.discovery import browse

LABEL = "Systemtap Compile Server on stap-a"


def test_remembers_what_it_saw_and_only_when_it_changed(tmp_path: Path) -> None:
    memory = tmp_path / "stapserver" / "servers-seen"
    b = browse.Browser.__new__(browse.Browser)  # no sockets: only the memory
    b.memory, b.remembered = memory, browse._recall(memory)
    assert b.remembered == []
    b._remember([LABEL, "Systemtap Compile Server on h\u00f4te #2", "bad\nlabel"])
    assert browse._recall(memory) == [LABEL, "Systemtap Compile Server on h\u00f4te #2"]
    assert memory.stat().st_mode & 0o777 == 0o600
    b.remembered = browse._recall(memory)
    before = memory.stat().st_mtime_ns
    b._remember(list(b.remembered))
    assert memory.stat().st_mtime_ns == before  # unchanged: not written again
    b._remember([])
    assert browse._recall(memory) == []


def test_recall_tolerates_damage(tmp_path: Path) -> None:
    memory = tmp_path / "seen"
    assert browse._recall(None) == []
    assert browse._recall(memory) == []
    memory.write_bytes(b"\xff\xfe\n\nok\n" + b"x\n" * 500)
    labels = browse._recall(memory)
    assert labels[1] == "ok" and len(labels) == browse.MAX_REMEMBERED


def test_memory_file_in_the_systemtap_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SYSTEMTAP_DIR", str(tmp_path / "st"))
    assert browse.memory_file() == tmp_path / "st" / "stapserver" / "servers-seen"


def test_arrival_interface() -> None:
    names = {3: "veth0", 7: "wlan0"}
    v4 = struct.pack("=i4s4s", 7, bytes(4), bytes(4))
    v6 = bytes(16) + struct.pack("=I", 3)
    assert browse._arrival_interface([(socket.IPPROTO_IP, browse.IP_PKTINFO, v4)], names) == (
        "wlan0"
    )
    assert browse._arrival_interface([(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, v6)], names) == (
        "veth0"
    )
    assert browse._arrival_interface([], names) is None
    assert (
        browse._arrival_interface([(socket.IPPROTO_IP, browse.IP_PKTINFO, v4[:2])], names) is None
    )

"""tapset.py's ansi.stp, conversions.stp-on-strings, fixed-size user integers and
task-handle functions (task_current, pid2task, task_*, pstrace, proc_mem_*)."""

from __future__ import annotations

import os
import threading

import pytest

from stapserver.runtime import tapset
from stapserver.runtime.base import ScriptError


def test_ansi_functions_print_to_the_session_output() -> None:
    state = tapset.TapsetState()
    got: list[bytes] = []
    state.out = got.append
    tapset.ansi_set_color3(state, 31, 40, 1)
    tapset.ansi_reset_color(state)
    tapset.ansi_set_color2(state, 32, 41)
    tapset.ansi_cursor_move(state, 3, 7)
    tapset.ansi_new_line(state)
    tapset.ansi_clear_screen(state)
    assert got == [b"\033[40;31;1m", b"\033[0;0m", b"\033[41;32m", b"\033[7;3H", b"\n",
                   b"\033[1;1H\033[J"]  # fmt: skip


def test_ansi_without_output_is_an_error() -> None:
    with pytest.raises(ScriptError):
        tapset.ansi_new_line(tapset.TapsetState())


def test_kernel_string_on_record_strings() -> None:
    assert tapset.kernel_string(b"eth0") == b"eth0"
    assert tapset.kernel_string_n(b"virtio1-req.0", 7) == b"virtio1"
    assert tapset.kernel_string_quoted(b"a") == b'"a"'


def test_user_fixed_size_integers_read_our_memory() -> None:
    import ctypes

    buf = ctypes.create_string_buffer(b"\xff\xff\xff\xff\xff\xff\xff\xff")
    addr = ctypes.addressof(buf)
    assert tapset.user_uint8(addr) == 255
    assert tapset.user_int8(addr) == -1
    assert tapset.user_uint32(addr) == 0xFFFFFFFF
    assert tapset.user_uint64(addr) == -1  # a stap long
    with pytest.raises(ScriptError):
        tapset.user_uint64(0)


def test_task_handles_outside_events_describe_this_thread() -> None:
    me = tapset.task_current()
    assert tapset.task_tid(me) == threading.get_native_id()
    assert tapset.task_pid(me) == os.getpid()
    assert tapset.task_parent(me) == tapset.pid2task(os.getppid())
    assert tapset.task_pid(tapset.task_parent(me)) == os.getppid()
    assert tapset.task_uid(me) == os.getuid()
    assert tapset.task_execname(me) == tapset.execname()
    assert tapset.pid2task(0) == 0
    assert tapset.pid2task(1) == tapset.TASK_HANDLE + 1
    init = tapset.pid2task(1)
    idle = tapset.task_parent(init)
    assert tapset.task_pid(idle) == 0 and tapset.task_parent(idle) == idle
    assert tapset.pstrace(me).startswith(b" ")


def test_task_handles_in_an_event_use_the_event() -> None:
    ev = (0, 3, 4242, 4240, 1000, 1001, 0, b"worker\0\0\0", 7)
    tapset.EV = ev
    try:
        me = tapset.task_current()
        assert tapset.task_tid(me) == 4242
        assert tapset.task_pid(me) == 4240
        assert tapset.task_uid(me) == 1000
        assert tapset.task_gid(me) == 1001
        assert tapset.task_cpu(me) == 3
        assert tapset.task_execname(me) == b"worker"
    finally:
        tapset.EV = None


def test_task_functions_refuse_kernel_pointers_and_null() -> None:
    for bad in (0, -0x7A0000000000, 0xFFFF888012345678 - (1 << 64)):
        with pytest.raises(ScriptError, match="not a task the python runtime knows"):
            tapset.task_pid(bad)


def test_a_gone_task_is_an_error_not_a_made_up_value() -> None:
    gone = tapset.TASK_HANDLE + (1 << 31) - 7  # no such thread
    with pytest.raises(ScriptError, match="has exited"):
        tapset.task_parent(gone)
    assert tapset.proc_mem_size_pid((1 << 31) - 7) == 0


def test_proc_mem_of_this_process() -> None:
    assert tapset.proc_mem_size() > 0
    assert tapset.proc_mem_rss_pid(os.getpid()) > 0
    assert tapset.proc_mem_string().startswith(b"size: ")

"""The tapset signature table: each tapset function as the translator sees it.

The translator's semantic pass and code generator use :data:`FUNCTIONS`,
:data:`OVERLOADS` and :func:`lookup`; the runtime, which only calls the functions of
:mod:`tapset`, never imports this module.  :mod:`tapset` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .tapset import (
    HZ,
    MAJOR,
    MINOR,
    MKDEV,
    WEXITSTATUS,
    WIFEXITED,
    WTERMSIG,
    big_endian2,
    big_endian4,
    big_endian8,
    bytes_to_string,
    cmdline_arg,
    cmdline_args,
    cmdline_str,
    cpu,
    cpu_clock_ms,
    cpu_clock_ns,
    cpu_clock_s,
    cpu_clock_us,
    ctime,
    ctime0,
    delete_stopwatch,
    egid,
    env_var,
    errno_p,
    errno_str,
    euid,
    execname,
    get_cycles,
    get_loadavg_index,
    gettimeofday_ms,
    gettimeofday_ns,
    gettimeofday_s,
    gettimeofday_us,
    gid,
    htonl,
    htonll,
    htons,
    indent,
    indent_depth,
    ip_ntop,
    isdigit,
    isinstr,
    jiffies,
    ktime_get_ns,
    little_endian2,
    little_endian4,
    little_endian8,
    local_clock_ms,
    local_clock_ns,
    local_clock_s,
    local_clock_us,
    mem_page_size,
    msecs_to_string,
    nsecs_to_string,
    ntohl,
    ntohll,
    ntohs,
    pages_to_string,
    pexecname,
    pgrp,
    pid,
    pid2execname,
    ppid,
    randint,
    read_stopwatch_ms,
    read_stopwatch_ns,
    read_stopwatch_s,
    read_stopwatch_us,
    return_str,
    sid,
    signal_str,
    sprint_loadavg,
    start_stopwatch,
    stop_stopwatch,
    stp_pid,
    str_replace,
    string_quoted,
    stringat,
    strlen,
    strpos,
    strtol,
    substr,
    text_str,
    text_strn,
    thread_indent,
    thread_indent_depth,
    tid,
    tokenize,
    tokenize1,
    tz_ctime,
    tz_gmtoff,
    tz_name,
    uid,
    usecs_to_string,
    usrdev2kerndev,
)

ArgType = Literal["long", "string"]
ReturnType = Literal["long", "string", "void"]


@dataclass(frozen=True)
class Signature:
    """One tapset function as the translator sees it.

    ``impl`` is called with the script's arguments in order (``int`` for long, ``bytes``
    for string), preceded by the session's :class:`TapsetState` when ``needs_state``.
    It returns ``int``, ``bytes`` (not yet cut to MAXSTRINGLEN - 1) or ``None`` (void).
    """

    name: str
    returns: ReturnType
    args: tuple[ArgType, ...]
    impl: Callable[..., int | bytes | None] = field(compare=False)
    needs_state: bool = False


_L: ArgType = "long"
_S: ArgType = "string"

_SIGNATURES: tuple[Signature, ...] = (
    # string.stp
    Signature("strlen", "long", (_S,), strlen),
    Signature("substr", "string", (_S, _L, _L), substr),
    Signature("stringat", "long", (_S, _L), stringat),
    Signature("isinstr", "long", (_S, _S), isinstr),
    Signature("strpos", "long", (_S, _S), strpos),
    Signature("str_replace", "string", (_S, _S, _S), str_replace),
    Signature("strtol", "long", (_S, _L), strtol),
    Signature("isdigit", "long", (_S,), isdigit),
    Signature("text_str", "string", (_S,), text_str),
    Signature("text_strn", "string", (_S, _L, _L), text_strn),
    Signature("string_quoted", "string", (_S,), string_quoted),
    # tokenize.stp
    Signature("tokenize", "string", (_S, _S), tokenize, needs_state=True),
    Signature("tokenize", "string", (_S,), tokenize1, needs_state=True),
    # random.stp
    Signature("randint", "long", (_L,), randint, needs_state=True),
    # errno.stp
    Signature("errno_str", "string", (_L,), errno_str),
    Signature("errno_p", "long", (_L,), errno_p),
    Signature("return_str", "string", (_L, _L), return_str),
    # endian.stp, inet.stp
    Signature("big_endian2", "long", (_L,), big_endian2),
    Signature("big_endian4", "long", (_L,), big_endian4),
    Signature("big_endian8", "long", (_L,), big_endian8),
    Signature("little_endian2", "long", (_L,), little_endian2),
    Signature("little_endian4", "long", (_L,), little_endian4),
    Signature("little_endian8", "long", (_L,), little_endian8),
    Signature("htons", "long", (_L,), htons),
    Signature("htonl", "long", (_L,), htonl),
    Signature("htonll", "long", (_L,), htonll),
    Signature("ntohs", "long", (_L,), ntohs),
    Signature("ntohl", "long", (_L,), ntohl),
    Signature("ntohll", "long", (_L,), ntohll),
    # dev.stp, ip.stp, aux_syscalls.stp, signal.stp
    Signature("MAJOR", "long", (_L,), MAJOR),
    Signature("MINOR", "long", (_L,), MINOR),
    Signature("MKDEV", "long", (_L, _L), MKDEV),
    Signature("usrdev2kerndev", "long", (_L,), usrdev2kerndev),
    Signature("ip_ntop", "string", (_L,), ip_ntop),
    Signature("WIFEXITED", "long", (_L,), WIFEXITED),
    Signature("WEXITSTATUS", "long", (_L,), WEXITSTATUS),
    Signature("WTERMSIG", "long", (_L,), WTERMSIG),
    Signature("signal_str", "string", (_L,), signal_str),
    # task_time.stp, proc_mem.stp
    Signature("msecs_to_string", "string", (_L,), msecs_to_string),
    Signature("usecs_to_string", "string", (_L,), usecs_to_string),
    Signature("nsecs_to_string", "string", (_L,), nsecs_to_string),
    Signature("bytes_to_string", "string", (_L,), bytes_to_string),
    Signature("pages_to_string", "string", (_L,), pages_to_string),
    Signature("mem_page_size", "long", (), mem_page_size),
    # timestamp*.stp
    Signature("HZ", "long", (), HZ),
    Signature("jiffies", "long", (), jiffies),
    Signature("get_cycles", "long", (), get_cycles),
    Signature("gettimeofday_s", "long", (), gettimeofday_s),
    Signature("gettimeofday_ms", "long", (), gettimeofday_ms),
    Signature("gettimeofday_us", "long", (), gettimeofday_us),
    Signature("gettimeofday_ns", "long", (), gettimeofday_ns),
    Signature("local_clock_s", "long", (), local_clock_s),
    Signature("local_clock_ms", "long", (), local_clock_ms),
    Signature("local_clock_us", "long", (), local_clock_us),
    Signature("local_clock_ns", "long", (), local_clock_ns),
    Signature("cpu_clock_s", "long", (_L,), cpu_clock_s),
    Signature("cpu_clock_ms", "long", (_L,), cpu_clock_ms),
    Signature("cpu_clock_us", "long", (_L,), cpu_clock_us),
    Signature("cpu_clock_ns", "long", (_L,), cpu_clock_ns),
    Signature("ktime_get_ns", "long", (), ktime_get_ns),
    # ctime.stp, tzinfo.stp
    Signature("ctime", "string", (_L,), ctime),
    Signature("ctime", "string", (), ctime0),
    Signature("tz_gmtoff", "long", (), tz_gmtoff, needs_state=True),
    Signature("tz_name", "string", (), tz_name, needs_state=True),
    Signature("tz_ctime", "string", (_L,), tz_ctime, needs_state=True),
    # context.stp, context-envvar.stp, task.stp, loadavg.stp
    Signature("pid", "long", (), pid),
    Signature("tid", "long", (), tid),
    Signature("ppid", "long", (), ppid),
    Signature("pgrp", "long", (), pgrp),
    Signature("sid", "long", (), sid),
    Signature("uid", "long", (), uid),
    Signature("euid", "long", (), euid),
    Signature("gid", "long", (), gid),
    Signature("egid", "long", (), egid),
    Signature("execname", "string", (), execname),
    Signature("pexecname", "string", (), pexecname),
    Signature("pid2execname", "string", (_L,), pid2execname),
    Signature("cpu", "long", (), cpu),
    Signature("stp_pid", "long", (), stp_pid, needs_state=True),
    Signature("env_var", "string", (_S,), env_var, needs_state=True),
    Signature("cmdline_args", "string", (_L, _L, _S), cmdline_args),
    Signature("cmdline_arg", "string", (_L,), cmdline_arg),
    Signature("cmdline_str", "string", (), cmdline_str),
    Signature("get_loadavg_index", "long", (_L,), get_loadavg_index),
    Signature("sprint_loadavg", "string", (), sprint_loadavg),
    # indent.stp
    Signature("indent", "string", (_L,), indent, needs_state=True),
    Signature("indent_depth", "long", (_L,), indent_depth, needs_state=True),
    Signature("thread_indent", "string", (_L,), thread_indent, needs_state=True),
    Signature("thread_indent_depth", "long", (_L,), thread_indent_depth, needs_state=True),
    # stopwatch.stp
    Signature("start_stopwatch", "void", (_S,), start_stopwatch, needs_state=True),
    Signature("stop_stopwatch", "void", (_S,), stop_stopwatch, needs_state=True),
    Signature("delete_stopwatch", "void", (_S,), delete_stopwatch, needs_state=True),
    Signature("read_stopwatch_s", "long", (_S,), read_stopwatch_s, needs_state=True),
    Signature("read_stopwatch_ms", "long", (_S,), read_stopwatch_ms, needs_state=True),
    Signature("read_stopwatch_us", "long", (_S,), read_stopwatch_us, needs_state=True),
    Signature("read_stopwatch_ns", "long", (_S,), read_stopwatch_ns, needs_state=True),
)


def _build_overloads() -> dict[str, tuple[Signature, ...]]:
    table: dict[str, list[Signature]] = {}
    for sig in _SIGNATURES:
        table.setdefault(sig.name, []).append(sig)
    return {name: tuple(sigs) for name, sigs in table.items()}


OVERLOADS: dict[str, tuple[Signature, ...]] = _build_overloads()
"""Every variant of every function, by name (``tokenize`` and ``ctime`` have two)."""

FUNCTIONS: dict[str, Signature] = {name: sigs[0] for name, sigs in OVERLOADS.items()}
"""One signature per name: for an overloaded name, its first (longest) variant.

Use :func:`lookup` to resolve a call with its argument count.
"""


def lookup(name: str, nargs: int) -> Signature | None:
    """The variant of ``name`` taking ``nargs`` arguments, or None."""
    for sig in OVERLOADS.get(name, ()):
        if len(sig.args) == nargs:
            return sig
    return None

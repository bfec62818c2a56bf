"""The kernel-event tapset of the python runtime: SystemTap's process, scheduler, signal,
block I/O, memory, network-device, interrupt and workqueue aliases, over tracepoints.

SystemTap 4.8's tapsets (``linux/kprocess.stp``, ``scheduler.stp``, ``signal.stp``,
``ioblock.stp``, ``ioscheduler.stp``, ``memory.stp``, ``networking.stp``, ``irq.stp``)
define these aliases on tracepoints where the kernel has them and on kernel functions
otherwise, and read their variables through the tracepoint's or function's pointers
(``$p->tgid``, ``$bio->bi_iter->bi_sector``).  Here each alias is written in the
SystemTap language over the tracepoints of Linux 6.18 (x86_64), whose handlers see only
the fields of the tracepoint's record (``$pid``, ``$sector``...) and the context
functions (``pid()``, ``execname()``...) of the task the event fires in.  So:

* a variable whose value the record (or the context) gives is defined, under the
  tapset's name;
* a variable that needs a pointer (``task``, ``bdev``, ``devname``, ``caller_function``,
  ...) is left out, so that a script reading it gets a pass-2 error instead of a wrong
  value;
* where the record holds a task's thread id and the tapset a process id (``task_pid``,
  ``next_pid``, ``sig_pid``...), the thread id is given: the same number for a
  process's main thread (and every single-threaded process), that thread's own id for
  another thread.  These approximations are listed in :data:`APPROXIMATE`.

Every body is a flat list of ``var = expr`` assignments, so the translator drops those
a script never reads; the only other statement is a ``if (...) next`` guard where the
tracepoint fires for more than the alias means (``process.begin``: a fork's return in
the child, not the parent; ``process.end``: the death of the last thread).

Aliases on kernel functions with no tracepoint of the same meaning (``tcp.*``,
``udp.*``, ``socket.*``, ``netdev.register``, ``signal.checkperm``, ``vm.write_shared``,
``scheduler.tick``...) are not defined: see :data:`SKIPPED`.
"""

from __future__ import annotations

import functools

from . import syscall_tapset

# A variant of an alias: the tracepoint ("group:event") and the body's statements.
_Variant = tuple[str, tuple[str, ...]]

# The thread that returns 0 from fork/vfork/clone/clone3 is the new task, in its own
# context, before it runs any instruction of its own (``ret_from_fork`` leaves through
# the syscall exit path, which fires ``syscalls:sys_exit_*`` there).
_CHILD_RETURNS = tuple(f"syscalls:sys_exit_{n}" for n in ("fork", "vfork", "clone", "clone3"))
_CLONE_THREAD = 0x10000

# rw of ioblock*: bio_op() (REQ_OP_READ 0, WRITE 1, FLUSH 2, DISCARD 3, SECURE_ERASE 5),
# recovered from the record's rwbs ("R", "W", "D", "DE", "F"... and modifier letters
# F(ua) A(head) S(ync) M(eta) after the operation's); -1 for any other operation.
_RW = (
    'rw = isinstr($rwbs, "R") ? 0 : isinstr($rwbs, "W") ? 1 : '
    'isinstr($rwbs, "DE") ? 5 : isinstr($rwbs, "D") ? 3 : '
    'substr($rwbs, 0, 1) == "F" ? 2 : -1'
)

_SI_CODE = (
    'si_code = $code > 0 ? "SI_KERNEL (SIGFPE, SIGSEGV, SIGTRAP, SIGCHLD, SIGPOLL)" '
    ': "SI_USER or SI_TIMER or SI_ASYNCIO"'
)


def _v(event: str, *stmts: str) -> _Variant:
    return (event, stmts)


def _ctxswitch(name: str) -> tuple[str, ...]:
    # sched_switch fires in prev's context: prev's process id is pid().  The record's
    # prev_state is the reported state: 0x100 (TASK_REPORT_MAX) when prev was
    # preempted, i.e. still TASK_RUNNING (0); 0x80 (TASK_REPORT_IDLE) for TASK_IDLE
    # (0x402); otherwise the state's bit, as in task_state().
    return (
        f'name = "{name}"',
        "prev_priority = $prev_prio",
        "prev_pid = pid()",
        "prev_tid = $prev_pid",
        "prev_task_name = $prev_comm",
        "prevtsk_state = $prev_state & 256 ? 0 : $prev_state == 128 ? 1026 : $prev_state",
        "next_priority = $next_prio",
        "next_pid = $next_pid",
        "next_tid = $next_pid",
        "next_task_name = $next_comm",
        "nexttsk_state = 0",
    )


def _block(name: str, *, done: bool, error: bool, hw: bool) -> tuple[str, ...]:
    """ioblock's variables (stap's sets differ a little from alias to alias)."""
    out = [f'name = "{name}"', "sector = $sector", "size = $nr_sector << 9"]
    if done:
        out.append("bytes_done = size")
    if error:
        out.append("error = $error")
    out.append(_RW)
    if hw:
        out.append("hw_segments = 0")  # stap: @choose_defined($bio->bi_hw_segments, 0)
    return tuple(out)


def _rq(name: str) -> tuple[str, ...]:
    return (f'name = "{name}"', "disk_major = MAJOR($dev)", "disk_minor = MINOR($dev)")


def _kmem(name: str, alloc: bool) -> tuple[str, ...]:
    out = [f'name = "{name}"', "call_site = $call_site", "ptr = $ptr"]
    if alloc:
        out += ["bytes_req = $bytes_req", "bytes_alloc = $bytes_alloc", "gfp_flags = $gfp_flags"]
    return tuple(out)


_SOFTIRQ = ("h = 0", "vec = 0", "action = 0", "vec_nr = $vec")


@functools.cache
def _own() -> dict[str, tuple[_Variant, ...]]:
    """The aliases written here, by point."""
    create = _v(
        "task:task_newtask",
        "new_tid = $pid",
        f"new_pid = $clone_flags & {_CLONE_THREAD} ? pid() : $pid",
    )
    wakeup = (
        "task_pid = $pid",
        "task_tid = $pid",
        "task_priority = $prio",
        "task_cpu = $target_cpu",
        "task_state = 0",
    )
    trace_request = _block("ioblock_trace.request", done=True, error=False, hw=False)
    trace_end = _block("ioblock_trace.end", done=True, error=False, hw=False)
    end = _block("ioblock.end", done=True, error=True, hw=True)
    out: dict[str, tuple[_Variant, ...]] = {
        # --- process (stapprobes(3stap): process.begin/.end without a path) ---------
        "process.begin": (
            *(_v(e, "if ($ret != 0 || pid() != tid()) next") for e in _CHILD_RETURNS),
            _v("sched:sched_process_exec"),
        ),
        "process.thread.begin": tuple(
            _v(e, "if ($ret != 0 || pid() == tid()) next") for e in _CHILD_RETURNS
        ),
        "process.end": (_v("sched:sched_process_exit", "if (!$group_dead) next"),),
        "process.thread.end": (_v("sched:sched_process_exit", "if ($group_dead) next"),),
        # --- kprocess ---------------------------------------------------------------
        "kprocess.create": (create,),
        "tp_kprocess.create": (create,),
        "dw_kprocess.create": (create,),
        "kprocess.start": tuple(_v(e, "if ($ret != 0) next") for e in _CHILD_RETURNS),
        "kprocess.exit": (_v("sched:sched_process_exit"),),
        "kprocess.release": (_v("sched:sched_process_free", "released_tid = $pid"),),
        # --- scheduler --------------------------------------------------------------
        "scheduler.cpu_off": (
            _v("sched:sched_switch", 'name = "cpu_off"', "idle = $prev_pid == 0"),
        ),
        "scheduler.cpu_on": (_v("sched:sched_switch", 'name = "cpu_on"', "idle = $next_pid == 0"),),
        "scheduler.ctxswitch": (_v("sched:sched_switch", *_ctxswitch("ctxswitch")),),
        "scheduler.kthread_stop": (
            _v("sched:sched_kthread_stop", 'name = "kthread_stop"', "thread_pid = $pid"),
        ),
        "scheduler.kthread_stop.return": (
            _v("sched:sched_kthread_stop_ret", 'name = "kthread_stop"', "return_value = $ret"),
        ),
        "scheduler.wait_task": (
            _v(
                "sched:sched_wait_task",
                'name = "wait_task"',
                "task_pid = $pid",
                "task_priority = $prio",
            ),
        ),
        "scheduler.wakeup": (_v("sched:sched_wakeup", 'name = "wakeup"', *wakeup),),
        "scheduler.wakeup_new": (_v("sched:sched_wakeup_new", 'name = "wakeup_new"', *wakeup),),
        "scheduler.migrate": (
            _v(
                "sched:sched_migrate_task",
                'name = "migrate"',
                "pid = $pid",
                "priority = $prio",
                "cpu_from = $orig_cpu",
                "cpu_to = $dest_cpu",
            ),
        ),
        "scheduler.process_free": (
            _v(
                "sched:sched_process_free",
                'name = "process_free"',
                "pid = $pid",
                "priority = $prio",
            ),
        ),
        "scheduler.process_exit": (
            _v(
                "sched:sched_process_exit",
                'name = "process_exit"',
                "pid = pid()",
                "priority = $prio",
            ),
        ),
        "scheduler.process_wait": (
            _v("sched:sched_process_wait", 'name = "process_wait"', "pid = $pid"),
        ),
        "scheduler.process_fork": (
            _v(
                "task:task_newtask",
                'name = "process_fork"',
                "parent_pid = pid()",
                f"child_pid = $clone_flags & {_CLONE_THREAD} ? pid() : $pid",
            ),
        ),
        "scheduler.signal_send": (
            _v(
                "signal:signal_generate",
                'name = "signal_send"',
                "pid = $pid",
                "signal_number = $sig",
            ),
        ),
        # --- signal -----------------------------------------------------------------
        "signal.send": (
            _v(
                "signal:signal_generate",
                'name = "signal_generate"',
                "sig = $sig",
                "shared = $group == 0 ? 0 : 1",
                "sig_name = _signal_name(sig)",
                "sig_pid = $pid",
                "pid_name = $comm",
                _SI_CODE,
            ),
        ),
        "signal.handle": (
            _v(
                "signal:signal_deliver",
                'name = "handle"',
                "sig = $sig",
                "sig_name = _signal_name($sig)",
                "sig_code = $code",
            ),
        ),
        # --- ioblock ----------------------------------------------------------------
        "ioblock.request": (
            _v(
                "block:block_bio_queue",
                *_block("ioblock.request", done=False, error=False, hw=True),
            ),
        ),
        # bio_endio: block_bio_complete fires there only for bios a driver remapped
        # (device mapper, md...); a request-based device's bios end with their
        # request, block_rq_complete (one event for the bios merged into a request).
        "ioblock.end": (_v("block:block_bio_complete", *end), _v("block:block_rq_complete", *end)),
        "ioblock_trace.request": (_v("block:block_bio_queue", *trace_request),),
        "ioblock_trace.end": (_v("block:block_bio_complete", *trace_end),),
        # --- ioscheduler ------------------------------------------------------------
        "ioscheduler.elv_add_request": (_v("block:block_rq_insert", *_rq("elv_add_request")),),
        "ioscheduler.elv_add_request.tp": (_v("block:block_rq_insert", *_rq("elv_add_request")),),
        "ioscheduler_trace.elv_completed_request": (
            _v("block:block_rq_complete", *_rq("elv_completed_request")),
        ),
        "ioscheduler_trace.elv_issue_request": (
            _v("block:block_rq_issue", *_rq("elv_issue_request")),
        ),
        "ioscheduler_trace.elv_requeue_request": (
            _v("block:block_rq_requeue", *_rq("elv_requeue_request")),
        ),
        "ioscheduler_trace.plug": (_v("block:block_plug", 'name = "plug"'),),
        # --- vm ---------------------------------------------------------------------
        "vm.pagefault": tuple(
            _v(
                f"exceptions:{e}",
                'name = "pagefault"',
                "write_access = $error_code & 2 ? 1 : 0",
                "address = $address",
            )
            for e in ("page_fault_user", "page_fault_kernel")
        ),
        "vm.kmalloc": (_v("kmem:kmalloc", *_kmem("kmalloc", True)),),
        "vm.kmem_cache_alloc": (_v("kmem:kmem_cache_alloc", *_kmem("kmem_cache_alloc", True)),),
        "vm.kfree": (_v("kmem:kfree", *_kmem("kfree", False)),),
        "vm.kmem_cache_free": (_v("kmem:kmem_cache_free", *_kmem("kmem_cache_free", False)),),
        "vm.mmap": (
            _v("syscalls:sys_enter_mmap", 'name = "mmap"', "address = $addr", "length = $len"),
        ),
        "vm.munmap": (
            _v("syscalls:sys_enter_munmap", 'name = "munmap"', "address = $addr", "length = $len"),
        ),
        "vm.oom_kill": (_v("oom:mark_victim", 'name = "oom_kill"'),),
        # --- netdev (protocol: the record holds ntohs(skb->protocol)) ---------------
        "netdev.transmit": (_v("net:net_dev_queue", "dev_name = $name", "length = $len"),),
        "netdev.hard_transmit": (
            _v(
                "net:net_dev_start_xmit",
                "dev_name = $name",
                "protocol = htons($protocol)",
                "length = $len",
            ),
        ),
        "netdev.receive": (_v("net:netif_receive_skb", "dev_name = $name", "length = $len"),),
        "netdev.rx": (_v("net:netif_rx_entry", "dev_name = $name", "protocol = htons($protocol)"),),
        # --- irq, softirq, workqueue ------------------------------------------------
        "irq_handler.entry": (_v("irq:irq_handler_entry", "irq = $irq", "dev_name = $name"),),
        "irq_handler.exit": (_v("irq:irq_handler_exit", "irq = $irq", "ret = $ret"),),
        "softirq.entry": (_v("irq:softirq_entry", *_SOFTIRQ),),
        "softirq.exit": (_v("irq:softirq_exit", *_SOFTIRQ),),
        "workqueue.insert": (
            _v("workqueue:workqueue_queue_work", "work = $work", "work_func = $function"),
        ),
        "workqueue.execute": (
            _v("workqueue:workqueue_execute_start", "work = $work", "work_func = $function"),
        ),
    }
    return out


# Aliases stap defines over syscall aliases: (point, syscall alias, statements replacing
# its name assignment, statements appended).
_DERIVED: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("kprocess.exec", "syscall.execve", (), ()),
    (
        "kprocess.exec_complete",
        "syscall.execve.return",
        (),
        ("errno = retval", "success = (errno >= 0)"),
    ),
    *(
        (
            f"signal.sys{kind}",
            f"syscall.{call}",
            (f'name = "sys{kind}"',),
            ("sig_name = _signal_name(sig)", "sig_pid = pid", "pid_name = pid2execname(pid)"),
        )
        for kind, call in (("kill", "kill"), ("tkill", "tkill"), ("tgkill", "tgkill"))
    ),
    *(
        (f"signal.sys{kind}.return", f"syscall.{kind}.return", (f'name = "sys{kind}"',), ())
        for kind in ("kill", "tkill", "tgkill")
    ),
)

# Variables given with the thread id where stap gives the process id (see the module's
# docstring), and others whose value differs from stap's in some cases.
APPROXIMATE: dict[str, str] = {
    "scheduler.ctxswitch": "next_pid is next's thread id",
    "scheduler.cpu_on": "fires in the outgoing task's context (sched_switch), just before "
    "the incoming one runs: context functions describe the outgoing task",
    "scheduler.wakeup": "task_pid is the thread id",
    "scheduler.wakeup_new": "task_pid is the thread id (the new thread's, for a thread)",
    "scheduler.wait_task": "task_pid is the thread id",
    "scheduler.migrate": "pid is the thread id",
    "scheduler.process_free": "pid is the thread id",
    "scheduler.process_wait": "pid is the id waited for (stap: the struct pid pointer)",
    "scheduler.signal_send": "pid is the target thread's id; over signal_generate",
    "signal.send": "sig_pid is the target thread's id; si_code from the siginfo's si_code "
    "(stap tests the siginfo pointer)",
    "ioblock.request": "sector after partition remapping (from the disk's start)",
    "ioblock.end": "error is an errno (stap: blk_status_t); on a request-based device, "
    "one event per request (stap: per bio)",
    "irq_handler.entry": "dev_name is the name string (stap: a pointer to it)",
    "vm.mmap": "mmap(2) calls only (stap: every vm_mmap)",
    "vm.munmap": "munmap(2) calls only (stap: every do_munmap)",
    "process.begin": "a new process's first return from fork/clone, or an exec; not once "
    "per process at startup",
}

# Variables of defined aliases that the records cannot give (besides the pointers:
# task, task_prev, bdev, q, skb...), left out.
OMITTED: dict[str, str] = {
    "kprocess.exit": "code: not in sched_process_exit",
    "kprocess.release": "released_pid, pid: need task->tgid (released_tid given)",
    "kprocess.exec": "nothing: syscall.execve's variables",
    "scheduler.ctxswitch": "prev_task, next_task",
    "scheduler.kthread_stop": "thread_priority: not in sched_kthread_stop",
    "signal.handle": "sinfo, ka_addr, sig_mode (sig_mode tests the siginfo pointer)",
    "ioblock.request": "devname, ino, flags, opf, vcnt, idx, phys_segments, bdev, "
    "bdev_contains, p_start_sect",
    "ioscheduler_trace.*": "q, elevator_name, rq, rq_flags",
    "vm.kmalloc": "caller_function, gfp_flag_name (need symname/__gfp_flag_str)",
    "vm.oom_kill": "task",
    "netdev.receive": "protocol, truesize: not in netif_receive_skb",
    "netdev.transmit": "protocol, truesize: not in net_dev_queue",
    "irq_handler.*": "handler, flags, flags_str, dev_id, next_irqaction, dir, thread_fn, "
    "thread, thread_flags (and dev_name on exit)",
    "workqueue.*": "wq_thread",
}

# stap's aliases not defined here, and why.
SKIPPED: dict[str, str] = {
    "scheduler.tick": "no tracepoint (scheduler_tick)",
    "scheduler.balance": "no tracepoint (idle_balance)",
    "ioblock_trace.bounce": "block_bio_bounce is gone from Linux 6.18",
    "ioscheduler.elv_completed_request": "kernel functions only",
    "ioscheduler.elv_next_request": "kernel functions only",
    "ioscheduler_trace.elv_abort_request": "block_rq_abort is gone",
    "ioscheduler_trace.unplug_io": "block_unplug_io is gone",
    "ioscheduler_trace.unplug_timer": "block_unplug_timer is gone",
    "vm.pagefault.return": "no tracepoint at the fault's end",
    "vm.brk": "sys_enter_brk gives the new break only, not address/length",
    "vm.write_shared": "no tracepoint (do_wp_page)",
    "vm.write_shared_copy": "no tracepoint",
    "vm.kmalloc_node": "no kmalloc_node tracepoint (kmem:kmalloc has a node field)",
    "vm.kmem_cache_alloc_node": "no tracepoint",
    "signal.send.return": "systemtap_v <= 2.1 only, and no tracepoint",
    "signal.handle.return": "systemtap_v <= 2.1 only",
    "signal.checkperm": "kernel function only",
    "signal.wakeup": "kernel function only",
    "signal.check_ignored": "kernel function only",
    "signal.handle_stop": "kernel function only",
    "signal.force_segv": "kernel function only",
    "signal.send_sig_queue": "kernel function only",
    "signal.pending": "kernel function only",
    "signal.do_action": "kernel function only",
    "signal.procmask": "kernel function only",
    "signal.flush": "kernel function only",
    "workqueue.create": "workqueue_creation is gone since 2.6.36",
    "workqueue.destroy": "workqueue_destruction is gone since 2.6.36",
    "netdev.*": "the others (open, close, register, change_mtu...) are kernel functions",
    "tcp.*, udp.*, socket.*, vfs.*, nfs.*, scsi.*, tty.*": "kernel functions only "
    "(scsi.iodone's tracepoint variables all dereference $cmd)",
}


def _body(stmts: tuple[str, ...]) -> str:
    return "{\n" + "".join(f"  {s}\n" for s in stmts) + "}\n"


def _own_source(point: str, variants: tuple[_Variant, ...]) -> str:
    return "".join(
        f'probe {point} = kernel.trace("{event}")\n' + _body(stmts) for event, stmts in variants
    )


def _derived_source(point: str, base: str, rename: tuple[str, ...], extra: tuple[str, ...]) -> str:
    out = []
    for chunk in syscall_tapset.alias_source(base).split("probe ")[1:]:
        head, _, rest = chunk.partition("\n")
        stmts = [s.strip() for s in rest.strip().strip("{}").strip().splitlines()]
        if rename:
            stmts = [*rename, *(s for s in stmts if not s.startswith("name = "))]
        stmts += extra
        out.append(f"probe {point} =" + head.partition("=")[2] + "\n" + _body(tuple(stmts)))
    return "".join(out)


@functools.cache
def _points() -> tuple[str, ...]:
    return (*_own(), *(d[0] for d in _DERIVED))


def alias_points() -> list[str]:
    """Every alias probe point this tapset defines (``scheduler.ctxswitch``,
    ``signal.send``, ``kprocess.exec``...)."""
    return list(_points())


@functools.cache
def alias_source(point: str) -> str:
    """The SystemTap text defining alias ``point`` (one or more ``probe point = ...``
    definitions of that name).  KeyError if this tapset has no such point."""
    own = _own()
    if point in own:
        return _own_source(point, own[point])
    for name, base, rename, extra in _DERIVED:
        if name == point:
            return _derived_source(point, base, rename, extra)
    raise KeyError(point)


def tracepoints_used() -> list[str]:
    """The ``group:event`` of every tracepoint the aliases use."""
    seen: dict[str, None] = {}
    for variants in _own().values():
        for event, _ in variants:
            seen[event] = None
    return list(seen)

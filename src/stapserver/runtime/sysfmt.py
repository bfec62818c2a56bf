"""Rendering of syscall arguments: the functions of SystemTap's ``aux_syscalls.stp``.

Each function takes the script's values (``int`` for long, ``bytes`` for string) and
returns what stap 4.8's function of the same name returns on x86_64 (kernel 6.x
constants), e.g. ``_sys_open_flag_str(0o2000000)`` is ``b"O_RDONLY|O_CLOEXEC"``.

The value lists keep stap's order: a flag word is rendered as stap's
``_stp_lookup_or_str`` does, first listed name first, any bits no name covers as
``0x...``; a single value as ``_stp_lookup_str`` does, unknown values in hex.

The ``_struct_*_u`` / ``_stp_sigset_u`` family render a structure in user memory.  This
runtime has no copy of that memory when the handler runs, so they give what stap gives
when it cannot read it: ``NULL`` for a null address, the address in hex otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1

_Table = Sequence[tuple[int, str]]


def _s64(v: int) -> int:
    v &= _U64
    return v - (1 << 64) if v >> 63 else v


def _s32(v: int) -> int:
    v &= _U32
    return v - (1 << 32) if v >> 31 else v


def _num(val: int, base: int) -> str:
    """The runtime's fallback for a value no name covers (val is a C ``long``)."""
    v = _s64(val)
    if base == 10:
        return "%d" % v
    if base == 8:
        return "0%o" % (v & _U64) if v else "0"
    return "0x%x" % (v & _U64)


def _lookup_str(table: _Table, val: int, base: int = 16) -> str:
    """``_stp_lookup_str2``: the first name whose value is ``val``, else the number."""
    for value, name in table:
        if value == val:
            return name
    return _num(val, base)


def _lookup_or_str(table: _Table, val: int, base: int = 16) -> str:
    """``_stp_lookup_or_str2``: every listed name with a bit in common with ``val``
    (in list order, each clearing its bits), then the remaining bits in hex."""
    if val == 0:
        return _lookup_str(table, val, base)
    out: list[str] = []
    for value, name in table:
        if value & val:
            out.append(name)
            val &= ~value
    if val:
        out.append(_num(val, base))
    return "|".join(out)


def _b(text: str) -> bytes:
    return text.encode()


# --------------------------------------------------------------------------------------
# Tables (x86_64 values of the kernel's constants, in aux_syscalls.stp's order)
# --------------------------------------------------------------------------------------

_O_CLOEXEC = 0o2000000
_OPEN_MODE_FLAGS: _Table = (
    (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"), (0o20000, "O_ASYNC"), (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"), (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"), (_O_CLOEXEC, "O_CLOEXEC"), (0o10000000, "O_PATH"),
)  # fmt: skip
_PIPE2_FLAGS: _Table = ((0o4000, "O_NONBLOCK"), (_O_CLOEXEC, "O_CLOEXEC"), (0o40000, "O_DIRECT"))
_ACCESS_MODES: _Table = ((0, "F_OK"), (4, "R_OK"), (2, "W_OK"), (1, "X_OK"))
_FACCESSAT2_FLAGS: _Table = ((0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_EACCESS"))
_AT_FLAGS: _Table = (
    (0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"), (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"), (0x1000, "AT_EMPTY_PATH"),
)  # fmt: skip
_WAIT4_OPTS: _Table = (
    (1, "WNOHANG"), (4, "WEXITED"), (2, "WSTOPPED"), (8, "WCONTINUED"),
    (0x01000000, "WNOWAIT"), (0x20000000, "__WNOTHREAD"), (0x40000000, "__WALL"),
    (0x80000000, "__WCLONE"),
)  # fmt: skip
_SIGNALS: _Table = (
    (0, "SIG_0"), (1, "SIGHUP"), (2, "SIGINT"), (3, "SIGQUIT"), (4, "SIGILL"), (5, "SIGTRAP"),
    (6, "SIGABRT"), (7, "SIGBUS"), (8, "SIGFPE"), (9, "SIGKILL"), (10, "SIGUSR1"),
    (11, "SIGSEGV"), (13, "SIGPIPE"), (12, "SIGUSR2"), (14, "SIGALRM"), (15, "SIGTERM"),
    (17, "SIGCHLD"), (18, "SIGCONT"), (19, "SIGSTOP"), (20, "SIGTSTP"), (21, "SIGTTIN"),
    (22, "SIGTTOU"), (23, "SIGURG"), (24, "SIGXCPU"), (25, "SIGXFSZ"), (26, "SIGVTALRM"),
    (27, "SIGPROF"), (28, "SIGWINCH"), (29, "SIGIO/SIGPOLL"), (30, "SIGPWR"), (31, "SIGSYS"),
    (5 | 0x80, "TRACESYSGOOD"),
)  # fmt: skip
_CLONE_FLAGS: _Table = (
    (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"), (0x2000, "CLONE_PTRACE"), (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"), (0x10000, "CLONE_THREAD"), (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"), (0x80000, "CLONE_SETTLS"), (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"), (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"), (0x1000000, "CLONE_CHILD_SETTID"),
    (0x4000000, "CLONE_NEWUTS"), (0x8000000, "CLONE_NEWIPC"), (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"), (0x40000000, "CLONE_NEWNET"), (0x80000000, "CLONE_IO"),
)  # fmt: skip
_FCNTL_CMDS: _Table = (
    (0, "F_DUPFD"), (1, "F_GETFD"), (2, "F_SETFD"), (3, "F_GETFL"), (4, "F_SETFL"),
    (5, "F_GETLK"), (6, "F_SETLK"), (7, "F_SETLKW"), (8, "F_SETOWN"), (9, "F_GETOWN"),
    (10, "F_SETSIG"), (11, "F_GETSIG"), (15, "F_SETOWN_EX"), (16, "F_GETOWN_EX"),
    (17, "F_GETOWNER_UIDS"), (1024, "F_SETLEASE"), (1025, "F_GETLEASE"),
    (1030, "F_DUPFD_CLOEXEC"), (1026, "F_NOTIFY"), (1031, "F_SETPIPE_SZ"),
    (1032, "F_GETPIPE_SZ"),
)  # fmt: skip
_EPOLL_OPS: _Table = ((1, "EPOLL_CTL_ADD"), (3, "EPOLL_CTL_MOD"), (2, "EPOLL_CTL_DEL"))
_EPOLL_CREATE1_FLAGS: _Table = ((_O_CLOEXEC, "EPOLL_CLOEXEC"),)
_EVENTFD2_FLAGS: _Table = (
    (0o4000, "EFD_NONBLOCK"),
    (_O_CLOEXEC, "EFD_CLOEXEC"),
    (1, "EFD_SEMAPHORE"),
)
_SIGNALFD4_FLAGS: _Table = ((0o4000, "SFD_NONBLOCK"), (_O_CLOEXEC, "SFD_CLOEXEC"))
_INOTIFY_INIT1_FLAGS: _Table = ((0o4000, "IN_NONBLOCK"), (_O_CLOEXEC, "IN_CLOEXEC"))
_MPROTECT_PROTS: _Table = (
    (0, "PROT_NONE"), (1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"), (8, "PROT_SEM"),
    (0x01000000, "PROT_GROWSDOWN"), (0x02000000, "PROT_GROWSUP"),
)  # fmt: skip
_MMAP_FLAGS: _Table = (
    (0x01, "MAP_SHARED"), (0x02, "MAP_PRIVATE"), (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"),
    (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"), (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"), (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"), (0x20000, "MAP_STACK"), (0x40000, "MAP_HUGETLB"),
    (0x4000000, "MAP_UNINITIALIZED"), (0x40, "MAP_32BIT"),
)  # fmt: skip
_MAP_HUGE_SHIFT = 26
_MAP_HUGE_MASK = 0x3F
_FUTEX_OPS: _Table = tuple(
    (v | p, n + s)
    for p, s in ((0, ""), (128, "_PRIVATE"))
    for v, n in (
        (0, "FUTEX_WAIT"), (1, "FUTEX_WAKE"), (2, "FUTEX_FD"), (3, "FUTEX_REQUEUE"),
        (4, "FUTEX_CMP_REQUEUE"), (5, "FUTEX_WAKE_OP"), (6, "FUTEX_LOCK_PI"),
        (7, "FUTEX_UNLOCK_PI"), (8, "FUTEX_TRYLOCK_PI"), (9, "FUTEX_WAIT_BITSET"),
        (10, "FUTEX_WAKE_BITSET"), (11, "FUTEX_WAIT_REQUEUE_PI"), (12, "FUTEX_CMP_REQUEUE_PI"),
    )
    if not (p and v == 2)  # no FUTEX_FD_PRIVATE
)  # fmt: skip
_FUTEX_WAKE_OPS: _Table = (
    (0, "FUTEX_OP_SET"), (1, "FUTEX_OP_ADD"), (2, "FUTEX_OP_OR"), (3, "FUTEX_OP_ANDN"),
    (4, "FUTEX_OP_XOR"),
)  # fmt: skip
_FUTEX_WAKE_CMPS: _Table = (
    (0, "FUTEX_OP_CMP_EQ"), (1, "FUTEX_OP_CMP_NE"), (2, "FUTEX_OP_CMP_LT"),
    (3, "FUTEX_OP_CMP_LE"), (4, "FUTEX_OP_CMP_GT"), (5, "FUTEX_OP_CMP_GE"),
)  # fmt: skip
_CLOCKS: _Table = (
    (0, "CLOCK_REALTIME"), (1, "CLOCK_MONOTONIC"), (2, "CLOCK_PROCESS_CPUTIME_ID"),
    (3, "CLOCK_THREAD_CPUTIME_ID"), (4, "CLOCK_MONOTONIC_RAW"), (5, "CLOCK_REALTIME_COARSE"),
    (6, "CLOCK_MONOTONIC_COARSE"), (7, "CLOCK_BOOTTIME"), (8, "CLOCK_REALTIME_ALARM"),
    (9, "CLOCK_BOOTTIME_ALARM"), (10, "CLOCK_SGI_CYCLE"), (11, "CLOCK_TAI"),
)  # fmt: skip
_SOCK_FAMILIES: _Table = (
    (0, "PF_UNSPEC"), (1, "PF_LOCAL"), (2, "PF_INET"), (3, "PF_AX25"), (4, "PF_IPX"),
    (5, "PF_APPLETALK"), (6, "PF_NETROM"), (7, "PF_BRIDGE"), (8, "PF_ATMPVC"), (9, "PF_X25"),
    (10, "PF_INET6"), (11, "PF_ROSE"), (12, "PF_DECnet"), (13, "PF_NETBEUI"),
    (14, "PF_SECURITY"), (15, "PF_KEY"), (16, "PF_NETLINK"), (16, "PF_ROUTE"),
    (17, "PF_PACKET"), (18, "PF_ASH"), (19, "PF_ECONET"), (20, "PF_ATMSVC"), (21, "PF_RDS"),
    (22, "PF_SNA"), (23, "PF_IRDA"), (24, "PF_PPPOX"), (25, "PF_WANPIPE"), (26, "PF_LLC"),
    (27, "PF_IB"), (29, "PF_CAN"), (30, "PF_TIPC"), (31, "PF_BLUETOOTH"), (32, "PF_IUCV"),
    (33, "PF_RXRPC"), (34, "PF_ISDN"), (35, "PF_PHONET"), (36, "PF_IEEE802154"),
    (37, "PF_CAIF"), (38, "PF_ALG"), (39, "PF_NFC"), (40, "PF_VSOCK"),
)  # fmt: skip
_SOCK_TYPES = {
    1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
    6: "SOCK_DCCP", 10: "SOCK_PACKET",
}  # fmt: skip
_SOCK_TYPE_MASK = 0xF
_SOCK_CLOEXEC = _O_CLOEXEC
_SOCK_NONBLOCK = 0o4000
_SOCK_FLAGS: _Table = ((_SOCK_CLOEXEC, "SOCK_CLOEXEC"), (_SOCK_NONBLOCK, "SOCK_NONBLOCK"))
_IPPROTOS = {
    0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 2: "IPPROTO_IGMP", 4: "IPPROTO_IPIP", 6: "IPPROTO_TCP",
    8: "IPPROTO_EGP", 12: "IPPROTO_PUP", 17: "IPPROTO_UDP", 22: "IPPROTO_IDP", 29: "IPPROTO_TP",
    33: "IPPROTO_DCCP", 41: "IPPROTO_IPV6", 46: "IPPROTO_RSVP", 47: "IPPROTO_GRE",
    50: "IPPROTO_ESP", 51: "IPPROTO_AH", 92: "IPPROTO_MTP", 98: "IPPROTO_ENCAP",
    103: "IPPROTO_PIM", 108: "IPPROTO_COMP", 132: "IPPROTO_SCTP", 136: "IPPROTO_UDPLITE",
    255: "IPPROTO_RAW",
}  # fmt: skip
_MSG_FLAGS: _Table = (
    (0x1, "MSG_OOB"), (0x2, "MSG_PEEK"), (0x4, "MSG_DONTROUTE"), (0x4, "MSG_TRYHARD"),
    (0x8, "MSG_CTRUNC"), (0x10, "MSG_PROBE"), (0x20, "MSG_TRUNC"), (0x40, "MSG_DONTWAIT"),
    (0x80, "MSG_EOR"), (0x100, "MSG_WAITALL"), (0x200, "MSG_FIN"), (0x400, "MSG_SYN"),
    (0x800, "MSG_CONFIRM"), (0x1000, "MSG_RST"), (0x2000, "MSG_ERRQUEUE"),
    (0x4000, "MSG_NOSIGNAL"), (0x8000, "MSG_MORE"), (0x10000, "MSG_WAITFORONE"),
    (0x200, "MSG_EOF"), (0x20000000, "MSG_FASTOPEN"), (0x40000000, "MSG_CMSG_CLOEXEC"),
)  # fmt: skip
_MSG_CMSG_COMPAT = 0x80000000
_SEEK_WHENCES: _Table = (
    (0, "SEEK_SET"), (1, "SEEK_CUR"), (2, "SEEK_END"), (3, "SEEK_DATA"), (4, "SEEK_HOLE"),
)  # fmt: skip
_SHUTDOWN_HOWS: _Table = ((0, "SHUT_RD"), (1, "SHUT_WR"), (2, "SHUT_RDWR"))
_RLIMIT_RESOURCES: _Table = (
    (_U32, "RLIM_INFINITY"), (0, "RLIMIT_CPU"), (1, "RLIMIT_FSIZE"), (2, "RLIMIT_DATA"),
    (3, "RLIMIT_STACK"), (4, "RLIMIT_CORE"), (5, "RLIMIT_RSS"), (6, "RLIMIT_NPROC"),
    (7, "RLIMIT_NOFILE"), (8, "RLIMIT_MEMLOCK"), (9, "RLIMIT_AS"), (10, "RLIMIT_LOCKS"),
    (11, "RLIMIT_SIGPENDING"), (12, "RLIMIT_MSGQUEUE"), (13, "RLIMIT_NICE"),
    (14, "RLIMIT_RTPRIO"), (15, "RLIMIT_RTTIME"), (16, "RLIM_NLIMITS"),
)  # fmt: skip
_MADVICE: _Table = (
    (0, "MADV_NORMAL"), (1, "MADV_RANDOM"), (2, "MADV_SEQUENTIAL"), (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"), (8, "MADV_FREE"), (9, "MADV_REMOVE"), (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"), (100, "MADV_HWPOISON"), (101, "MADV_SOFT_OFFLINE"),
    (12, "MADV_MERGEABLE"), (13, "MADV_UNMERGEABLE"), (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"), (16, "MADV_DONTDUMP"), (17, "MADV_DODUMP"),
)  # fmt: skip
_MREMAP_FLAGS: _Table = ((1, "MREMAP_MAYMOVE"), (2, "MREMAP_FIXED"))
_GETRANDOM_FLAGS: _Table = ((1, "GRND_NONBLOCK"), (2, "GRND_RANDOM"))
_MFD_FLAGS: _Table = ((1, "MFD_CLOEXEC"), (2, "MFD_ALLOW_SEALING"), (_O_CLOEXEC, "O_CLOEXEC"))
_STATX_MASKS: _Table = (
    (0x6000, "AT_STATX_SYNC_TYPE"), (0, "AT_STATX_SYNC_AS_STAT"), (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
)  # fmt: skip
_RENAMEAT2_FLAGS: _Table = ((1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT"))
_ARCH_PRCTL_FUNCS: _Table = (
    (0x1002, "ARCH_SET_FS"), (0x1003, "ARCH_GET_FS"), (0x1001, "ARCH_SET_GS"),
    (0x1004, "ARCH_GET_GS"),
)  # fmt: skip
_INOTIFY_MASKS: _Table = (
    (0x1, "IN_ACCESS"), (0x2, "IN_MODIFY"), (0x4, "IN_ATTRIB"), (0x8, "IN_CLOSE_WRITE"),
    (0x10, "IN_CLOSE_NOWRITE"), (0x20, "IN_OPEN"), (0x40, "IN_MOVED_FROM"), (0x80, "IN_MOVED_TO"),
    (0x100, "IN_CREATE"), (0x200, "IN_DELETE"), (0x400, "IN_DELETE_SELF"),
    (0x800, "IN_MOVE_SELF"), (0x2000, "IN_UNMOUNT"), (0x4000, "IN_Q_OVERFLOW"),
    (0x8000, "IN_IGNORED"), (0x01000000, "IN_ONLYDIR"), (0x02000000, "IN_DONT_FOLLOW"),
    (0x04000000, "IN_EXCL_UNLINK"), (0x20000000, "IN_MASK_ADD"), (0x40000000, "IN_ISDIR"),
    (0x80000000, "IN_ONESHOT"),
)  # fmt: skip
_FLOCK_CMDS: _Table = (
    (1, "LOCK_SH"), (2, "LOCK_EX"), (4, "LOCK_NB"), (8, "LOCK_UN"), (32, "LOCK_MAND"),
    (64, "LOCK_READ"), (128, "LOCK_WRITE"), (192, "LOCK_RW"),
)  # fmt: skip
_SOCKOPT_LEVELS: _Table = (
    (0, "SOL_IP"), (1, "SOL_SOCKET"), (6, "SOL_TCP"), (17, "SOL_UDP"), (41, "SOL_IPV6"),
    (58, "SOL_ICMPV6"), (132, "SOL_SCTP"), (136, "SOL_UDPLITE"), (255, "SOL_RAW"),
    (256, "SOL_IPX"), (257, "SOL_AX25"), (258, "SOL_ATALK"), (259, "SOL_NETROM"),
    (260, "SOL_ROSE"), (261, "SOL_DECNET"), (262, "SOL_X25"), (263, "SOL_PACKET"),
    (264, "SOL_ATM"), (265, "SOL_AAL"), (266, "SOL_IRDA"), (267, "SOL_NETBEUI"),
    (268, "SOL_LLC"), (269, "SOL_DCCP"), (270, "SOL_NETLINK"), (271, "SOL_TIPC"),
    (272, "SOL_RXRPC"), (273, "SOL_PPPOL2TP"), (274, "SOL_BLUETOOTH"), (275, "SOL_PNPIPE"),
    (276, "SOL_RDS"), (277, "SOL_IUCV"), (278, "SOL_CAIF"), (279, "SOL_ALG"), (280, "SOL_NFC"),
)  # fmt: skip
_SOCKOPT_OPTNAMES: _Table = (
    (1, "SO_DEBUG"), (2, "SO_REUSEADDR"), (3, "SO_TYPE"), (4, "SO_ERROR"), (5, "SO_DONTROUTE"),
    (6, "SO_BROADCAST"), (7, "SO_SNDBUF"), (8, "SO_RCVBUF"), (32, "SO_SNDBUFFORCE"),
    (33, "SO_RCVBUFFORCE"), (9, "SO_KEEPALIVE"), (10, "SO_OOBINLINE"), (11, "SO_NO_CHECK"),
    (12, "SO_PRIORITY"), (13, "SO_LINGER"), (14, "SO_BSDCOMPAT"), (15, "SO_REUSEPORT"),
    (16, "SO_PASSCRED"), (17, "SO_PEERCRED"), (18, "SO_RCVLOWAT"), (19, "SO_SNDLOWAT"),
    (20, "SO_RCVTIMEO"), (21, "SO_SNDTIMEO"), (22, "SO_SECURITY_AUTHENTICATION"),
    (23, "SO_SECURITY_ENCRYPTION_TRANSPORT"), (24, "SO_SECURITY_ENCRYPTION_NETWORK"),
    (25, "SO_BINDTODEVICE"), (26, "SO_ATTACH_FILTER"), (27, "SO_DETACH_FILTER"),
    (28, "SO_PEERNAME"), (29, "SO_TIMESTAMP"), (30, "SO_ACCEPTCONN"), (31, "SO_PEERSEC"),
    (34, "SO_PASSSEC"), (35, "SO_TIMESTAMPNS"), (36, "SO_MARK"), (37, "SO_TIMESTAMPING"),
    (38, "SO_PROTOCOL"), (39, "SO_DOMAIN"), (40, "SO_RXQ_OVFL"), (41, "SO_WIFI_STATUS"),
    (42, "SO_PEEK_OFF"), (43, "SO_NOFCS"), (44, "SO_LOCK_FILTER"), (45, "SO_SELECT_ERR_QUEUE"),
    (46, "SO_BUSY_POLL"), (47, "SO_MAX_PACING_RATE"), (48, "SO_BPF_EXTENSIONS"),
    (49, "SO_INCOMING_CPU"), (50, "SO_ATTACH_BPF"), (27, "SO_DETACH_BPF"),
    (51, "SO_ATTACH_REUSEPORT_CBPF"), (52, "SO_ATTACH_REUSEPORT_EBPF"), (53, "SO_CNX_ADVICE"),
    (54, "SCM_TIMESTAMPING_OPT_STATS"), (55, "SO_MEMINFO"), (56, "SO_INCOMING_NAPI_ID"),
    (57, "SO_COOKIE"), (58, "SCM_TIMESTAMPING_PKTINFO"), (59, "SO_PEERGROUPS"),
    (60, "SO_ZEROCOPY"), (61, "SO_TXTIME"), (61, "SCM_TXTIME"), (62, "SO_BINDTOIFINDEX"),
)  # fmt: skip
_TIMERFD_FLAGS: _Table = (
    (1, "TFD_TIMER_ABSTIME"), (2, "TFD_TIMER_CANCEL_ON_SET"), (_O_CLOEXEC, "TFD_CLOEXEC"),
    (0o4000, "TFD_NONBLOCK"),
)  # fmt: skip
_MSYNC_FLAGS: _Table = ((1, "MS_ASYNC"), (2, "MS_INVALIDATE"), (4, "MS_SYNC"))
_MLOCKALL_FLAGS: _Table = ((1, "MCL_CURRENT"), (2, "MCL_FUTURE"), (4, "MCL_ONFAULT"))
_ITIMER_WHICH: _Table = ((0, "ITIMER_REAL"), (1, "ITIMER_VIRTUAL"), (2, "ITIMER_PROF"))
_RUSAGE_WHO: _Table = (
    (0, "RUSAGE_SELF"),
    (_U32, "RUSAGE_CHILDREN"),
    (_U32 - 1, "RUSAGE_BOTH"),
    (1, "RUSAGE_THREAD"),
)
_PRIORITY_WHICH: _Table = ((0, "PRIO_PROCESS"), (1, "PRIO_PGRP"), (2, "PRIO_USER"))
_SCHED_POLICIES: _Table = (
    (0, "SCHED_OTHER"), (1, "SCHED_FIFO"), (2, "SCHED_RR"), (3, "SCHED_BATCH"),
    (5, "SCHED_IDLE"), (6, "SCHED_DEADLINE"),
)  # fmt: skip
_WAITID_WHICH: _Table = ((0, "P_ALL"), (1, "P_PID"), (2, "P_PGID"))
_SPLICE_FLAGS: _Table = (
    (1, "SPLICE_F_MOVE"),
    (2, "SPLICE_F_NONBLOCK"),
    (4, "SPLICE_F_MORE"),
    (8, "SPLICE_F_GIFT"),
)
_FALLOCATE_MODES: _Table = (
    (1, "FALLOC_FL_KEEP_SIZE"), (2, "FALLOC_FL_PUNCH_HOLE"), (4, "FALLOC_FL_NO_HIDE_STALE"),
    (8, "FALLOC_FL_COLLAPSE_RANGE"), (16, "FALLOC_FL_ZERO_RANGE"),
)  # fmt: skip
_XATTR_FLAGS: _Table = ((1, "XATTR_CREATE"), (2, "XATTR_REPLACE"))
_SYNC_FILE_RANGE_FLAGS: _Table = (
    (1, "SYNC_FILE_RANGE_WAIT_BEFORE"), (2, "SYNC_FILE_RANGE_WRITE"),
    (4, "SYNC_FILE_RANGE_WAIT_AFTER"),
)  # fmt: skip
_MLOCK2_FLAGS: _Table = ((1, "MLOCK_ONFAULT"),)
_UMOUNT_FLAGS: _Table = (
    (1, "MNT_FORCE"),
    (2, "MNT_DETACH"),
    (4, "MNT_EXPIRE"),
    (8, "UMOUNT_NOFOLLOW"),
)


# --------------------------------------------------------------------------------------
# The functions
# --------------------------------------------------------------------------------------


def __int32(val: int) -> int:
    """``__int32:long(val:long)``: the low 32 bits, sign-extended."""
    return _s32(val)


def __uint32(val: int) -> int:
    """``__uint32:long(val:long)``: the low 32 bits."""
    return val & _U32


def __short(val: int) -> int:
    """``__short:long(val:long)``: the low 16 bits, sign-extended."""
    v = val & 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


def __ushort(val: int) -> int:
    """``__ushort:long(val:long)``: the low 16 bits."""
    return val & 0xFFFF


def __long(val: int) -> int:
    """``__long:long(val:long)``: a long (the identity on x86_64)."""
    return _s64(val)


def __ulong(val: int) -> int:
    """``__ulong:long(val:long)``: an unsigned long, as a long (the identity on x86_64)."""
    return _s64(val)


def _dfd_str(d: int) -> bytes:
    """``_dfd_str(d)``: ``AT_FDCWD`` for -100, else the number."""
    return b"AT_FDCWD" if d == -100 else b"%d" % d


def _sys_open_flag_str(f: int) -> bytes:
    """``_sys_open_flag_str(f)``: ``O_RDONLY``/``O_WRONLY``/``O_RDWR``, then ``|`` and
    the other flags (``O_WRONLY|O_CREAT|O_TRUNC``)."""
    flags = _s32(f)
    acc = flags & 3
    head = "O_WRONLY" if acc == 1 else "O_RDWR" if acc == 2 else "O_RDONLY"
    flags &= ~3
    if flags:
        return _b(head + "|" + _lookup_or_str(_OPEN_MODE_FLAGS, flags))
    return _b(head)


def _sys_pipe2_flag_str(f: int) -> bytes:
    """``_sys_pipe2_flag_str(f)``: ``O_NONBLOCK|O_CLOEXEC``..., ``0x0`` for none."""
    return _b(_lookup_or_str(_PIPE2_FLAGS, f & _U32))


def _dup3_flag_str(f: int) -> bytes:
    """``_dup3_flag_str(f)``: the open flags (``O_CLOEXEC``), ``0x0`` for none."""
    return _b(_lookup_or_str(_OPEN_MODE_FLAGS, f & _U32))


def _access_mode_str(mode: int) -> bytes:
    """``_access_mode_str(mode)``: ``F_OK``, or ``R_OK|W_OK|X_OK``..."""
    return _b(_lookup_or_str(_ACCESS_MODES, mode & _U32))


def _faccessat2_flags_str(flags: int) -> bytes:
    """``_faccessat2_flags_str(flags)``: ``AT_SYMLINK_NOFOLLOW|AT_EACCESS``..."""
    return _b(_lookup_or_str(_FACCESSAT2_FLAGS, flags & _U32))


def _at_flag_str(f: int) -> bytes:
    """``_at_flag_str(f)``: ``AT_SYMLINK_NOFOLLOW|AT_REMOVEDIR``..., ``0x0`` for none."""
    return _b(_lookup_or_str(_AT_FLAGS, f))


def _sys_open_mode_str(f: int) -> bytes:
    """``_sys_open_mode_str(f)``: ``S_IRWXU|S_IRGRP|S_IROTH``..., else ``%#o``."""
    bs = ""
    for whole, name, bits in (
        (0o700, "S_IRWXU", ((0o400, "S_IRUSR"), (0o200, "S_IWUSR"), (0o100, "S_IXUSR"))),
        (0o70, "S_IRWXG", ((0o40, "S_IRGRP"), (0o20, "S_IWGRP"), (0o10, "S_IXGRP"))),
        (0o7, "S_IRWXO", ((0o4, "S_IROTH"), (0o2, "S_IWOTH"), (0o1, "S_IXOTH"))),
    ):
        if f & whole == whole:
            bs = name + "|" + bs
        else:
            for bit, bit_name in bits:
                if f & bit:
                    bs = bit_name + "|" + bs
    return _b(bs[:-1]) if bs else _octal(f)


def _octal(v: int) -> bytes:
    """The runtime's ``%#o``: always a leading 0 (``00`` for 0)."""
    return b"0%o" % (v & _U64)


def _wait4_opt_str(f: int) -> bytes:
    """``_wait4_opt_str(f)``: ``WNOHANG|WSTOPPED``..., ``0x0`` for none."""
    return _b(_lookup_or_str(_WAIT4_OPTS, f & _U32))


def _waitid_opt_str(f: int) -> bytes:
    """``_waitid_opt_str(f)``: as :func:`_wait4_opt_str`."""
    return _wait4_opt_str(f)


def _waitid_which_str(flag: int) -> bytes:
    """``_waitid_which_str(flag)``: ``P_ALL``, ``P_PID``, ``P_PGID``."""
    return _b(_lookup_str(_WAITID_WHICH, flag & _U32))


def _signal_name(sig: int) -> bytes:
    """``_signal_name(sig)``: ``SIGINT`` for 2, ``SIG_0`` for 0, hex if unknown."""
    return _b(_lookup_str(_SIGNALS, sig & _U32))


def __fork_flags(flags: int) -> bytes:
    """``__fork_flags(flags)``: the clone flags, then ``|`` and the exit signal
    (``CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD``; ``0x0|SIGCHLD`` for fork)."""
    out = _lookup_or_str(_CLONE_FLAGS, _s64(flags) & ~0xFF)
    if flags & 0xFF:
        if out:
            out += "|"
        out += _lookup_str(_SIGNALS, flags & 0xFF)
    return _b(out)


def _sigprocmask_how_str(how: int) -> bytes:
    """``_sigprocmask_how_str(how)``: ``SIG_BLOCK``, ``SIG_UNBLOCK``, ``SIG_SETMASK``."""
    names = {0: b"SIG_BLOCK", 1: b"SIG_UNBLOCK", 2: b"SIG_SETMASK"}
    return names.get(how, b"0x%x" % (how & _U64))


def _fcntl_cmd_str(cmd: int) -> bytes:
    """``_fcntl_cmd_str(cmd)``: ``F_SETFD``..., hex if unknown."""
    return _b(_lookup_str(_FCNTL_CMDS, cmd & _U32))


def _opoll_op_str(o: int) -> bytes:
    """``_opoll_op_str(o)``: ``EPOLL_CTL_ADD``, ``EPOLL_CTL_MOD``, ``EPOLL_CTL_DEL``."""
    return _b(_lookup_str(_EPOLL_OPS, o & _U32))


def _epoll_create1_flag_str(f: int) -> bytes:
    """``_epoll_create1_flag_str(f)``: ``EPOLL_CLOEXEC``, ``0x0`` for none."""
    return _b(_lookup_or_str(_EPOLL_CREATE1_FLAGS, f & _U32))


def _eventfd2_flag_str(flags: int) -> bytes:
    """``_eventfd2_flag_str(flags)``: ``EFD_NONBLOCK|EFD_CLOEXEC|EFD_SEMAPHORE``."""
    return _b(_lookup_or_str(_EVENTFD2_FLAGS, flags & _U32))


def _signalfd4_flags_str(f: int) -> bytes:
    """``_signalfd4_flags_str(f)``: ``SFD_NONBLOCK|SFD_CLOEXEC``."""
    return _b(_lookup_or_str(_SIGNALFD4_FLAGS, f & _U32))


def _inotify_init1_flag_str(f: int) -> bytes:
    """``_inotify_init1_flag_str(f)``: ``IN_NONBLOCK|IN_CLOEXEC``."""
    return _b(_lookup_or_str(_INOTIFY_INIT1_FLAGS, f & _U32))


def _mprotect_prot_str(prot: int) -> bytes:
    """``_mprotect_prot_str(prot)``: ``PROT_READ|PROT_WRITE``..., ``PROT_NONE`` for 0."""
    return _b(_lookup_or_str(_MPROTECT_PROTS, _s64(prot)))


def _mmap_flags(flags: int) -> bytes:
    """``_mmap_flags(flags)``: ``MAP_PRIVATE|MAP_ANONYMOUS``...; a huge page size
    first (``MAP_HUGE_2MB|``)."""
    flags = _s64(flags)
    huge = (flags >> _MAP_HUGE_SHIFT) & _MAP_HUGE_MASK
    flags &= ~(_MAP_HUGE_MASK << _MAP_HUGE_SHIFT)
    prefix = ""
    if huge:
        suffix = ""
        for step, unit in ((60, "EB"), (50, "PB"), (40, "TB"), (30, "GB"), (20, "MB"), (10, "KB")):
            if huge >= step:
                huge -= step
                suffix = unit
                break
        prefix = "MAP_HUGE_%d%s|" % (1 << huge, suffix)
    return _b(prefix + _lookup_or_str(_MMAP_FLAGS, flags))


def _futex_op_str(op: int) -> bytes:
    """``_futex_op_str(op)``: ``FUTEX_WAIT_PRIVATE``..., hex if unknown."""
    return _b(_lookup_str(_FUTEX_OPS, op & _U32))


def _futex_wake_op_str(encoded_op: int) -> bytes:
    """``_futex_wake_op_str(encoded_op)``: ``{FUTEX_OP_SET, 1, FUTEX_OP_CMP_GT, 1}``."""
    e = encoded_op & _U32
    op = (e >> 28) & 7
    cmp = (e >> 24) & 15
    oparg = _s32(e << 8) >> 20
    cmparg = _s32(e << 20) >> 20
    flag = "FUTEX_OP_OPARG_SHIFT|" if (e >> 28) & 8 else ""
    return _b(
        "{%s%s, %d, %s, %d}"
        % (
            flag,
            _lookup_str(_FUTEX_WAKE_OPS, op),
            oparg,
            _lookup_str(_FUTEX_WAKE_CMPS, cmp),
            cmparg,
        )
    )


def _get_wc_str(wc: int) -> bytes:
    """``_get_wc_str(wc)``: the clock's name (``CLOCK_MONOTONIC``), hex if unknown."""
    return _b(_lookup_str(_CLOCKS, wc & _U32))


def _stp_clock_nanosleep_flags_str(flags: int) -> bytes:
    """``_stp_clock_nanosleep_flags_str(flags)``: ``TIMER_ABSTIME``, else hex."""
    return _b(_lookup_str(((1, "TIMER_ABSTIME"),), flags & _U32))


def _sock_family_str(f: int) -> bytes:
    """``_sock_family_str(f)``: ``PF_INET``..., hex if unknown."""
    return _b(_lookup_str(_SOCK_FAMILIES, f & _U32))


def _sock_type_str(type: int) -> bytes:
    """``_sock_type_str(type)``: ``SOCK_STREAM|SOCK_CLOEXEC``..., unknown bits in hex."""
    v = _s32(type)
    flags = v & ~_SOCK_TYPE_MASK
    t = v & _SOCK_TYPE_MASK
    out: list[str] = []
    if t in _SOCK_TYPES:
        out.append(_SOCK_TYPES[t])
        t = 0
    if flags & _SOCK_CLOEXEC:
        out.append("SOCK_CLOEXEC")
        flags &= ~_SOCK_CLOEXEC
    if flags & _SOCK_NONBLOCK:
        out.append("SOCK_NONBLOCK")
        flags &= ~_SOCK_NONBLOCK
    t |= flags
    if t != 0 or not out:
        out.append("0x%x" % (t & _U32))
    return _b("|".join(out))


def _sock_flags_str(f: int) -> bytes:
    """``_sock_flags_str(f)``: ``SOCK_CLOEXEC|SOCK_NONBLOCK``, ``0x0`` for none."""
    return _b(_lookup_or_str(_SOCK_FLAGS, f & _U32))


def _sock_protocol_str(family: int, protocol: int) -> bytes:
    """``_sock_protocol_str(family, protocol)``: ``IPPROTO_TCP``... for PF_INET and
    PF_INET6, else the number."""
    if family in (2, 10) and protocol in _IPPROTOS:
        return _b(_IPPROTOS[protocol])
    return b"%d" % protocol


def _msg_flags_str(flags: int) -> bytes:
    """``_msg_flags_str(flags)``: ``MSG_DONTWAIT|MSG_NOSIGNAL``..., ``0x0`` for none."""
    return _b(_lookup_or_str(_MSG_FLAGS, _s64(flags) & ~_MSG_CMSG_COMPAT))


def _seek_whence_str(w: int) -> bytes:
    """``_seek_whence_str(w)``: ``SEEK_SET``, ``SEEK_CUR``..., hex if unknown."""
    return _b(_lookup_str(_SEEK_WHENCES, w & _U32))


def _shutdown_how_str(how: int) -> bytes:
    """``_shutdown_how_str(how)``: ``SHUT_RD``, ``SHUT_WR``, ``SHUT_RDWR``."""
    return _b(_lookup_str(_SHUTDOWN_HOWS, how & _U32))


def _rlimit_resource_str(r: int) -> bytes:
    """``_rlimit_resource_str(r)``: ``RLIMIT_NOFILE``..., hex if unknown."""
    return _b(_lookup_str(_RLIMIT_RESOURCES, r & _U32))


def _rusage_who_str(w: int) -> bytes:
    """``_rusage_who_str(w)``: ``RUSAGE_SELF``, ``RUSAGE_CHILDREN``..."""
    return _b(_lookup_str(_RUSAGE_WHO, w & _U32))


def _madvice_advice_str(behavior: int) -> bytes:
    """``_madvice_advice_str(behavior)``: ``MADV_DONTNEED``..., hex if unknown."""
    return _b(_lookup_str(_MADVICE, behavior & _U32))


def _mremap_flags(flags: int) -> bytes:
    """``_mremap_flags(flags)``: ``MREMAP_MAYMOVE|MREMAP_FIXED``, ``0x0`` for none."""
    return _b(_lookup_or_str(_MREMAP_FLAGS, flags & _U32))


def _msync_flag_str(f: int) -> bytes:
    """``_msync_flag_str(f)``: ``MS_ASYNC|MS_INVALIDATE|MS_SYNC``."""
    return _b(_lookup_or_str(_MSYNC_FLAGS, f & _U32))


def _mlockall_flags_str(flags: int) -> bytes:
    """``_mlockall_flags_str(flags)``: ``MCL_CURRENT|MCL_FUTURE``..."""
    return _b(_lookup_or_str(_MLOCKALL_FLAGS, flags & _U32))


def _stp_mlock2_str(flags: int) -> bytes:
    """``_stp_mlock2_str(flags)``: ``MLOCK_ONFAULT``, ``0x0`` for none."""
    return _b(_lookup_or_str(_MLOCK2_FLAGS, flags & _U32))


def _getrandom_flags_str(flag: int) -> bytes:
    """``_getrandom_flags_str(flag)``: ``GRND_NONBLOCK|GRND_RANDOM``, ``0x0`` for none."""
    return _b(_lookup_or_str(_GETRANDOM_FLAGS, flag & _U32))


def _mfd_flags_str(flags: int) -> bytes:
    """``_mfd_flags_str(flags)``: ``MFD_CLOEXEC|MFD_ALLOW_SEALING``..."""
    return _b(_lookup_or_str(_MFD_FLAGS, flags & _U32))


def _statx_mask_str(cmd: int) -> bytes:
    """``_statx_mask_str(cmd)``: as stap, a lookup of the AT_STATX_* values (so most
    masks print in hex, e.g. ``0xfff``)."""
    return _b(_lookup_str(_STATX_MASKS, _s32(cmd)))


def _renameat2_flags_str(flags: int) -> bytes:
    """``_renameat2_flags_str(flags)``: ``RENAME_NOREPLACE``..., ``0x0`` for none."""
    return _b(_lookup_or_str(_RENAMEAT2_FLAGS, flags & _U32))


def _stp_arch_prctl_func_str(func: int) -> bytes:
    """``_stp_arch_prctl_func_str(func)``: ``ARCH_SET_FS``..., else decimal."""
    return _b(_lookup_str(_ARCH_PRCTL_FUNCS, _s32(func), 10))


def _inotify_watch_mask_str(mask: int) -> bytes:
    """``_inotify_watch_mask_str(mask)``: ``IN_MODIFY|IN_CREATE``..."""
    return _b(_lookup_or_str(_INOTIFY_MASKS, mask & _U32))


def _flock_cmd_str(c: int) -> bytes:
    """``_flock_cmd_str(c)``: ``LOCK_EX|LOCK_NB``..."""
    return _b(_lookup_or_str(_FLOCK_CMDS, c & _U32))


def _sockopt_level_str(level: int) -> bytes:
    """``_sockopt_level_str(level)``: ``SOL_SOCKET``, ``SOL_TCP``..., hex if unknown."""
    return _b(_lookup_str(_SOCKOPT_LEVELS, _s64(level)))


def _sockopt_optname_str(opt: int) -> bytes:
    """``_sockopt_optname_str(opt)``: ``SO_REUSEADDR``..., hex if unknown."""
    return _b(_lookup_str(_SOCKOPT_OPTNAMES, _s64(opt)))


def _stp_trunc_quoted(quoted: bytes, outlen: int) -> bytes:
    """A quoted string cut to ``outlen`` bytes as ``user_string_n_quoted(addr, inlen,
    outlen)`` cuts it: ``"abc"...`` (stap's ``user_buffer_quoted`` for text)."""
    if len(quoted) > outlen - 2:
        return quoted[: max(outlen - 4, 0)] + b'"...'
    return quoted


def __get_argv(argv: int, first: int) -> bytes:
    """``__get_argv(argv, first)`` when the vector cannot be read: the address in hex."""
    return b"0x%x" % (argv & _U64)


def _itimer_which_str(which: int) -> bytes:
    """``_itimer_which_str(which)``: ``ITIMER_REAL``..."""
    return _b(_lookup_str(_ITIMER_WHICH, which & _U32))


def _priority_which_str(which: int) -> bytes:
    """``_priority_which_str(which)``: ``PRIO_PROCESS``..."""
    return _b(_lookup_str(_PRIORITY_WHICH, which & _U32))


def _sched_policy_str(policy: int) -> bytes:
    """``_sched_policy_str(policy)``: ``SCHED_OTHER``..., hex if unknown."""
    return _b(_lookup_str(_SCHED_POLICIES, policy & _U32))


def _stp_timerfd_flags_str(flags: int) -> bytes:
    """``_stp_timerfd_flags_str(flags)``: ``TFD_CLOEXEC|TFD_NONBLOCK``..."""
    return _b(_lookup_or_str(_TIMERFD_FLAGS, flags & _U32))


def _stp_splice_flags_str(flags: int) -> bytes:
    """``_stp_splice_flags_str(flags)``: ``SPLICE_F_MOVE|SPLICE_F_NONBLOCK``..."""
    return _b(_lookup_or_str(_SPLICE_FLAGS, flags & _U32))


def _stp_fallocate_mode_str(mode: int) -> bytes:
    """``_stp_fallocate_mode_str(mode)``: ``FALLOC_FL_KEEP_SIZE``..."""
    return _b(_lookup_or_str(_FALLOCATE_MODES, mode & _U32))


def _stp_xattr_flags_str(flags: int) -> bytes:
    """``_stp_xattr_flags_str(flags)``: ``XATTR_CREATE``, ``XATTR_REPLACE``."""
    return _b(_lookup_or_str(_XATTR_FLAGS, flags & _U32))


def _sync_file_range_flags_str(flags: int) -> bytes:
    """``_sync_file_range_flags_str(flags)``: ``SYNC_FILE_RANGE_WRITE``..."""
    return _b(_lookup_or_str(_SYNC_FILE_RANGE_FLAGS, flags & _U32))


def _umountflags_str(op: int) -> bytes:
    """``_umountflags_str(op)``: ``MNT_FORCE|MNT_DETACH``..."""
    return _b(_lookup_or_str(_UMOUNT_FLAGS, op & _U32))


def _wait_status_str(f: int) -> bytes:
    """``_wait_status_str(f)``: ``WEXITSTATUS=1``, ``WTERMSIG=SIGKILL``..."""
    f &= _U32
    if f & 0x7F == 0:
        return b"WEXITSTATUS=%d" % ((f >> 8) & 0xFF)
    if f & 0xFF == 0x7F:
        return _b("WSTOPSIG=" + _lookup_str(_SIGNALS, (f >> 8) & 0xFF))
    core = "|WCOREDUMP" if f & 0x80 else ""
    return _b("WTERMSIG=" + _lookup_str(_SIGNALS, f & 0x7F) + core)


# Structures in user memory: what stap prints when it cannot copy them.


def _fault(uaddr: int) -> bytes:
    return b"NULL" if uaddr == 0 else b"0x%x" % (uaddr & _U64)


def _struct_timespec_u(uaddr: int, n: int) -> bytes:
    """``_struct_timespec_u(uaddr, n)``: ``NULL``, else (memory not copied) the address."""
    return b"NULL" if uaddr == 0 or not 1 <= n <= 2 else _fault(uaddr)


def _struct_timeval_u(uaddr: int, n: int) -> bytes:
    """``_struct_timeval_u(uaddr, n)``: ``NULL``, else (memory not copied) the address."""
    return b"NULL" if uaddr == 0 or not 1 <= n <= 2 else _fault(uaddr)


def _struct_sockaddr_u(uaddr: int, len: int) -> bytes:
    """``_struct_sockaddr_u(uaddr, len)``: ``NULL``, else (memory not copied) the address."""
    return _fault(uaddr)


def _stp_sigset_u(setptr: int) -> bytes:
    """``_stp_sigset_u(setptr)``: ``NULL``, else (memory not copied) the address."""
    return _fault(setptr)


def _struct_sigaction_u(uaddr: int) -> bytes:
    """``_struct_sigaction_u(uaddr)``: ``NULL``, else (memory not copied) the address."""
    return _fault(uaddr)


def _struct_rlimit_u(uaddr: int) -> bytes:
    """``_struct_rlimit_u(uaddr)``: ``NULL``, else (memory not copied) the address."""
    return _fault(uaddr)


def _struct_sysinfo_u(uaddr: int) -> bytes:
    """``_struct_sysinfo_u(uaddr)``: ``NULL``, else (memory not copied) the address."""
    return _fault(uaddr)


def _stp_sigaltstack_u(uaddr: int) -> bytes:
    """``_stp_sigaltstack_u(uaddr)``: (memory not copied) the address; ``0x0`` for null."""
    return b"0x%x" % (uaddr & _U64)


# --------------------------------------------------------------------------------------
# syscall_table.stp: numbers and names (x86_64)
# --------------------------------------------------------------------------------------

_SYSCALL_NAMES_TEXT = """\
read write open close stat fstat lstat poll lseek mmap mprotect munmap brk
rt_sigaction rt_sigprocmask rt_sigreturn ioctl pread64 pwrite64 readv writev access
pipe select sched_yield mremap msync mincore madvise shmget shmat shmctl dup dup2
pause nanosleep getitimer alarm setitimer getpid sendfile socket connect accept
sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname getpeername
socketpair setsockopt getsockopt clone fork vfork execve exit wait4 kill uname
semget semop semctl shmdt msgget msgsnd msgrcv msgctl fcntl flock fsync fdatasync
truncate ftruncate getdents getcwd chdir fchdir rename mkdir rmdir creat link unlink
symlink readlink chmod fchmod chown fchown lchown umask gettimeofday getrlimit
getrusage sysinfo times ptrace getuid syslog getgid setuid setgid geteuid getegid
setpgid getppid getpgrp setsid setreuid setregid getgroups setgroups setresuid
getresuid setresgid getresgid getpgid setfsuid setfsgid getsid capget capset
rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack utime mknod
uselib personality ustat statfs fstatfs sysfs getpriority setpriority sched_setparam
sched_getparam sched_setscheduler sched_getscheduler sched_get_priority_max
sched_get_priority_min sched_rr_get_interval mlock munlock mlockall munlockall
vhangup modify_ldt pivot_root _sysctl prctl arch_prctl adjtimex setrlimit chroot
sync acct settimeofday mount umount2 swapon swapoff reboot sethostname setdomainname
iopl ioperm create_module init_module delete_module get_kernel_syms query_module
quotactl nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid readahead
setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr
flistxattr removexattr lremovexattr fremovexattr tkill time futex sched_setaffinity
sched_getaffinity set_thread_area io_setup io_destroy io_getevents io_submit
io_cancel get_thread_area lookup_dcookie epoll_create epoll_ctl_old epoll_wait_old
remap_file_pages getdents64 set_tid_address restart_syscall semtimedop fadvise64
timer_create timer_settime timer_gettime timer_getoverrun timer_delete clock_settime
clock_gettime clock_getres clock_nanosleep exit_group epoll_wait epoll_ctl tgkill
utimes vserver mbind set_mempolicy get_mempolicy mq_open mq_unlink mq_timedsend
mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key keyctl
ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages
openat mkdirat mknodat fchownat futimesat newfstatat unlinkat renameat linkat
symlinkat readlinkat fchmodat faccessat pselect6 ppoll unshare set_robust_list
get_robust_list splice tee sync_file_range vmsplice move_pages utimensat epoll_pwait
signalfd timerfd_create eventfd fallocate timerfd_settime timerfd_gettime accept4
signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev
rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init fanotify_mark prlimit64
name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu
process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr
renameat2 seccomp getrandom memfd_create kexec_file_load bpf execveat userfaultfd
membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc
pkey_free statx io_pgetevents rseq uretprobe uprobe - - - - - - - - - - - - - - - -
- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
- - - - - - - - - - - - - - - - - - - - - - - - - - - - - pidfd_send_signal
io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig
fsmount fspick pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2
process_madvise epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset
landlock_add_rule landlock_restrict_self memfd_secret process_mrelease futex_waitv
set_mempolicy_home_node cachestat fchmodat2 map_shadow_stack futex_wake futex_wait
futex_requeue statmount listmount lsm_get_self_attr lsm_set_self_attr
lsm_list_modules mseal setxattrat getxattrat listxattrat removexattrat
open_tree_attr file_getattr file_setattr
"""
_SYSCALL_NAMES: tuple[str, ...] = tuple("" if n == "-" else n for n in _SYSCALL_NAMES_TEXT.split())
"""x86_64 syscall names by number ("" for an unused number)."""
_SYSCALL_NUMBERS: dict[str, int] = {n: i for i, n in enumerate(_SYSCALL_NAMES) if n}


def syscall_name(num: int) -> bytes:
    """``syscall_name(num)``: the x86_64 name of syscall ``num`` ("" if none)."""
    return _b(_SYSCALL_NAMES[num]) if 0 <= num < len(_SYSCALL_NAMES) else b""


def syscall_num(name: bytes) -> int:
    """``syscall_num(name)``: the x86_64 number of syscall ``name``, -1 if none."""
    return _SYSCALL_NUMBERS.get(name.decode("latin-1"), -1)


# --------------------------------------------------------------------------------------
# Argument strings stap builds with if/else: one function each, so that an alias body
# stays a flat list of assignments.
# --------------------------------------------------------------------------------------


def _sys_open_argstr(filename: bytes, flags: int, mode: int) -> bytes:
    """open's argstr: ``"f", O_RDONLY`` or, with O_CREAT, ``"f", O_CREAT..., 0644``."""
    head = filename + b", " + _sys_open_flag_str(flags)
    return head + b", " + _octal(mode) if flags & 0o100 else head


def _futex_argstr(uaddr: int, op: int, val: int, utime: int, uaddr2: int, val3: int) -> bytes:
    """futex's argstr (stap's ``@__futex_argstr``; the timeout as ``_struct_timespec_u``)."""
    ops = _futex_op_str(op)
    ua = b"0x%x" % (uaddr & _U64)
    ua2 = b"0x%x" % (uaddr2 & _U64)
    op32 = _s32(op)
    val = _s32(val)
    val3 = _s32(val3)
    if op32 == 10:  # FUTEX_WAKE_BITSET
        return b"%s, %s, %d, 0x%x" % (ua, ops, val, val3 & _U64)
    if op32 == 0:  # FUTEX_WAIT
        return b"%s, %s, %d, %s" % (ua, ops, val, _struct_timespec_u(utime, 1))
    if op32 == 9:  # FUTEX_WAIT_BITSET
        tail = b"0x%x" % (val3 & _U64)
        return b"%s, %s, %d, %s, %s" % (ua, ops, val, _struct_timespec_u(utime, 1), tail)
    if op32 == 3:  # FUTEX_REQUEUE
        return b"%s, %s, %d, %d, %s" % (ua, ops, val, _s64(utime), ua2)
    if op32 in (4, 12):  # FUTEX_CMP_REQUEUE, FUTEX_CMP_REQUEUE_PI
        return b"%s, %s, %d, %d, %s, %d" % (ua, ops, val, utime & _U64, ua2, val3)
    if op32 == 5:  # FUTEX_WAKE_OP
        return b"%s, %s, %d, %d, %s, %s" % (
            ua,
            ops,
            val,
            utime & _U64,
            ua2,
            _futex_wake_op_str(val3),
        )
    if op32 == 11:  # FUTEX_WAIT_REQUEUE_PI
        return b"%s, %s, %d, %s, %s" % (ua, ops, val, _struct_timespec_u(utime, 1), ua2)
    return b"%s, %s, %d" % (ua, ops, val)

"""runtime/sysfmt.py: syscall argument rendering as stap 4.8's aux_syscalls.stp (x86_64).

The expected strings follow the C of aux_syscalls.stp: ``_stp_lookup_or_str`` lists
every name whose value shares a bit with what is left (in table order) and the rest in
``0x%lx``; ``_stp_lookup_str`` the first exact name, else ``0x%lx``.
"""

from __future__ import annotations

import pytest

from stapserver.runtime import signatures, sysfmt

AT_FDCWD = -100


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (0, b"O_RDONLY"),
        (0o2000000, b"O_RDONLY|O_CLOEXEC"),
        (0o1101, b"O_WRONLY|O_CREAT|O_TRUNC"),
        (0o2, b"O_RDWR"),
        (0o3, b"O_RDONLY"),  # O_ACCMODE 3 is not a mode: stap's default branch
        (0o2204000, b"O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC"),
        (0o10000, b"O_RDONLY|O_SYNC"),  # O_DSYNC alone shares a bit with O_SYNC first
        (0o4010000, b"O_RDONLY|O_SYNC"),
        (0o20200000, b"O_RDONLY|O_DIRECTORY|0x400000"),  # O_TMPFILE: no name in stap
        (0o10000000, b"O_RDONLY|O_PATH"),
        (0xFFFFFFFF00000000, b"O_RDONLY"),  # an int: the high half is not seen
    ],
)
def test_open_flags(flags: int, expected: bytes) -> None:
    assert sysfmt._sys_open_flag_str(flags) == expected


def test_dfd_and_at_flags() -> None:
    assert sysfmt._dfd_str(AT_FDCWD) == b"AT_FDCWD"
    assert sysfmt._dfd_str(3) == b"3"
    assert sysfmt._at_flag_str(0) == b"0x0"
    assert sysfmt._at_flag_str(0x100) == b"AT_SYMLINK_NOFOLLOW"
    assert sysfmt._at_flag_str(0x1200) == b"AT_REMOVEDIR|AT_EMPTY_PATH"
    assert sysfmt._at_flag_str(0x6000) == b"0x6000"


def test_int_conversions() -> None:
    assert sysfmt.__int32(0xFFFFFF9C) == AT_FDCWD
    assert sysfmt.__int32(0x1_0000_0005) == 5
    assert sysfmt.__uint32(-1) == 0xFFFFFFFF
    assert sysfmt.__short(0xFFFF) == -1
    assert sysfmt.__ushort(-1) == 0xFFFF


def test_access_and_modes() -> None:
    assert sysfmt._access_mode_str(0) == b"F_OK"
    assert sysfmt._access_mode_str(4) == b"R_OK"
    assert sysfmt._access_mode_str(7) == b"R_OK|W_OK|X_OK"
    assert sysfmt._access_mode_str(9) == b"X_OK|0x8"
    assert sysfmt._sys_open_mode_str(0o644) == b"S_IROTH|S_IRGRP|S_IWUSR|S_IRUSR"
    assert sysfmt._sys_open_mode_str(0o777) == b"S_IRWXO|S_IRWXG|S_IRWXU"
    assert sysfmt._sys_open_mode_str(0) == b"00"


def test_mmap_and_mprotect() -> None:
    assert sysfmt._mprotect_prot_str(0) == b"PROT_NONE"
    assert sysfmt._mprotect_prot_str(3) == b"PROT_READ|PROT_WRITE"
    assert sysfmt._mprotect_prot_str(5) == b"PROT_READ|PROT_EXEC"
    assert sysfmt._mmap_flags(0x22) == b"MAP_PRIVATE|MAP_ANONYMOUS"
    assert sysfmt._mmap_flags(0x812) == b"MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE"
    assert sysfmt._mmap_flags(0x3) == b"MAP_SHARED|MAP_PRIVATE"  # MAP_SHARED_VALIDATE
    assert sysfmt._mmap_flags((21 << 26) | 0x40022) == (
        b"MAP_HUGE_2MB|MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB"
    )
    assert sysfmt._mmap_flags(0) == b"0x0"


def test_clone_flags() -> None:
    # glibc's fork(): CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD
    assert sysfmt.__fork_flags(0x1200011) == b"CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
    assert sysfmt.__fork_flags(17) == b"0x0|SIGCHLD"
    assert sysfmt.__fork_flags(0) == b"0x0"
    threads = 0x3D0F00  # pthread_create's flags
    assert sysfmt.__fork_flags(threads) == (
        b"CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|"
        b"CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"
    )
    assert sysfmt.__fork_flags(0x1000 | 17) == b"0x1000|SIGCHLD"  # CLONE_PIDFD: unnamed


def test_signals() -> None:
    assert sysfmt._signal_name(0) == b"SIG_0"
    assert sysfmt._signal_name(2) == b"SIGINT"
    assert sysfmt._signal_name(29) == b"SIGIO/SIGPOLL"
    assert sysfmt._signal_name(0x85) == b"TRACESYSGOOD"
    assert sysfmt._signal_name(34) == b"0x22"
    assert sysfmt._signal_name(-1) == b"0xffffffff"  # (unsigned int) then 0x%lx
    assert sysfmt._sigprocmask_how_str(0) == b"SIG_BLOCK"
    assert sysfmt._sigprocmask_how_str(2) == b"SIG_SETMASK"
    assert sysfmt._sigprocmask_how_str(7) == b"0x7"


def test_lookup_values() -> None:
    assert sysfmt._fcntl_cmd_str(1030) == b"F_DUPFD_CLOEXEC"
    assert sysfmt._fcntl_cmd_str(2) == b"F_SETFD"
    assert sysfmt._fcntl_cmd_str(36) == b"0x24"  # F_OFD_GETLK: not in stap's list
    assert sysfmt._seek_whence_str(1) == b"SEEK_CUR"
    assert sysfmt._seek_whence_str(9) == b"0x9"
    assert sysfmt._opoll_op_str(1) == b"EPOLL_CTL_ADD"
    assert sysfmt._opoll_op_str(3) == b"EPOLL_CTL_MOD"
    assert sysfmt._get_wc_str(1) == b"CLOCK_MONOTONIC"
    assert sysfmt._get_wc_str(7) == b"CLOCK_BOOTTIME"
    assert sysfmt._futex_op_str(128) == b"FUTEX_WAIT_PRIVATE"
    assert sysfmt._futex_op_str(137) == b"FUTEX_WAIT_BITSET_PRIVATE"
    assert sysfmt._futex_op_str(393) == b"0x189"  # | FUTEX_CLOCK_REALTIME
    assert sysfmt._rlimit_resource_str(7) == b"RLIMIT_NOFILE"
    assert sysfmt._rlimit_resource_str(-1) == b"RLIM_INFINITY"
    assert sysfmt._madvice_advice_str(4) == b"MADV_DONTNEED"
    assert sysfmt._shutdown_how_str(2) == b"SHUT_RDWR"
    assert sysfmt._stp_arch_prctl_func_str(0x1002) == b"ARCH_SET_FS"
    assert sysfmt._stp_arch_prctl_func_str(0x3001) == b"12289"  # base 10 fallback
    assert sysfmt._sockopt_level_str(1) == b"SOL_SOCKET"
    assert sysfmt._sockopt_optname_str(2) == b"SO_REUSEADDR"
    assert sysfmt._statx_mask_str(0xFFF) == b"0xfff"


def test_flag_words() -> None:
    assert sysfmt._wait4_opt_str(0) == b"0x0"
    assert sysfmt._wait4_opt_str(1) == b"WNOHANG"
    assert sysfmt._wait4_opt_str(0x40000003) == b"WNOHANG|WSTOPPED|__WALL"
    assert sysfmt._dup3_flag_str(0o2000000) == b"O_CLOEXEC"
    assert sysfmt._sys_pipe2_flag_str(0o2004000) == b"O_NONBLOCK|O_CLOEXEC"
    assert sysfmt._epoll_create1_flag_str(0o2000000) == b"EPOLL_CLOEXEC"
    assert sysfmt._eventfd2_flag_str(0o2004001) == b"EFD_NONBLOCK|EFD_CLOEXEC|EFD_SEMAPHORE"
    assert sysfmt._msg_flags_str(0x4040) == b"MSG_DONTWAIT|MSG_NOSIGNAL"
    assert sysfmt._msg_flags_str(0x80000000) == b"0x0"  # MSG_CMSG_COMPAT ignored
    assert sysfmt._msg_flags_str(0x200) == b"MSG_FIN"
    assert sysfmt._getrandom_flags_str(1) == b"GRND_NONBLOCK"
    assert sysfmt._renameat2_flags_str(1) == b"RENAME_NOREPLACE"
    assert sysfmt._mremap_flags(1) == b"MREMAP_MAYMOVE"
    assert sysfmt._inotify_watch_mask_str(0x300) == b"IN_CREATE|IN_DELETE"
    assert sysfmt._flock_cmd_str(6) == b"LOCK_EX|LOCK_NB"
    assert sysfmt._sock_flags_str(0o2004000) == b"SOCK_CLOEXEC|SOCK_NONBLOCK"


def test_sockets() -> None:
    assert sysfmt._sock_family_str(2) == b"PF_INET"
    assert sysfmt._sock_family_str(1) == b"PF_LOCAL"
    assert sysfmt._sock_family_str(16) == b"PF_NETLINK"
    assert sysfmt._sock_family_str(99) == b"0x63"
    assert sysfmt._sock_type_str(1) == b"SOCK_STREAM"
    assert sysfmt._sock_type_str(0o2000002) == b"SOCK_DGRAM|SOCK_CLOEXEC"
    assert sysfmt._sock_type_str(0o2004003) == b"SOCK_RAW|SOCK_CLOEXEC|SOCK_NONBLOCK"
    assert sysfmt._sock_type_str(0) == b"0x0"
    assert sysfmt._sock_type_str(0x10001) == b"SOCK_STREAM|0x10000"
    assert sysfmt._sock_protocol_str(2, 6) == b"IPPROTO_TCP"
    assert sysfmt._sock_protocol_str(10, 17) == b"IPPROTO_UDP"
    assert sysfmt._sock_protocol_str(1, 0) == b"0"
    assert sysfmt._sock_protocol_str(2, 7) == b"7"


def test_futex_argstr() -> None:
    assert sysfmt._futex_argstr(0x1000, 129, 1, 0, 0, 0) == b"0x1000, FUTEX_WAKE_PRIVATE, 1"
    assert sysfmt._futex_argstr(0x1000, 0, 2, 0, 0, 0) == b"0x1000, FUTEX_WAIT, 2, NULL"
    assert sysfmt._futex_argstr(0x10, 9, 0, 0, 0, -1) == (
        b"0x10, FUTEX_WAIT_BITSET, 0, NULL, 0xffffffffffffffff"
    )
    assert sysfmt._futex_argstr(0x10, 5, 1, 1, 0x20, 0x04000001) == (
        b"0x10, FUTEX_WAKE_OP, 1, 1, 0x20, {FUTEX_OP_SET, 0, FUTEX_OP_CMP_GT, 1}"
    )


def test_user_memory_fallbacks() -> None:
    assert sysfmt._struct_timespec_u(0, 1) == b"NULL"
    assert sysfmt._struct_timespec_u(0x7FFC0000, 1) == b"0x7ffc0000"
    assert sysfmt._stp_sigset_u(0) == b"NULL"
    assert sysfmt._struct_sockaddr_u(0x10, 16) == b"0x10"
    assert sysfmt.__get_argv(0x7FF0, 0) == b"0x7ff0"


def test_trunc_quoted() -> None:
    short = b'"hello\\n"'
    assert sysfmt._stp_trunc_quoted(short, 50) == short
    long = b'"' + b"x" * 60 + b'"'
    assert sysfmt._stp_trunc_quoted(long, 50) == b'"' + b"x" * 45 + b'"...'


def test_syscall_names() -> None:
    assert sysfmt.syscall_name(0) == b"read"
    assert sysfmt.syscall_name(257) == b"openat"
    assert sysfmt.syscall_name(4) == b"stat"
    assert sysfmt.syscall_name(435) == b"clone3"
    assert sysfmt.syscall_name(400) == b""
    assert sysfmt.syscall_name(-1) == b""
    assert sysfmt.syscall_num(b"openat") == 257
    assert sysfmt.syscall_num(b"nosuch") == -1


def test_open_argstr() -> None:
    assert sysfmt._sys_open_argstr(b'"/x"', 0, 0) == b'"/x", O_RDONLY'
    assert sysfmt._sys_open_argstr(b'"/x"', 0o101, 0o644) == b'"/x", O_WRONLY|O_CREAT, 0644'


def test_registered() -> None:
    for name in ("_sys_open_flag_str", "_dfd_str", "__fork_flags", "syscall_name", "__int32"):
        assert name in signatures.FUNCTIONS
    sig = signatures.lookup("_sock_protocol_str", 2)
    assert sig is not None and sig.args == ("long", "long") and sig.returns == "string"
    sig = signatures.lookup("_stp_trunc_quoted", 2)
    assert sig is not None and sig.args == ("string", "long")

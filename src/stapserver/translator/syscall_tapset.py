"""The syscall tapset of the python runtime: ``syscall.*`` and ``syscall_any`` aliases.

SystemTap's ``sysc_*.stp`` tapsets define ``syscall.NAME`` (and ``.return``) with the
variables ``name``, ``argstr``, ``retstr`` and each argument under the tapset's name.
Here every such alias is written in the SystemTap language over the kernel's syscall
tracepoints (``kernel.trace("syscalls:sys_enter_NAME")``), each body a flat list of
``var = expr`` assignments, so that the translator can drop the ones a script never
reads.  The renderers are :mod:`stapserver.runtime.sysfmt`'s.

The aliases come from two tables:

* :data:`_EXACT`: the syscalls whose variables and ``argstr`` follow stap 4.8's x86_64
  tapset (``_SYSCALL_*_REGARGS`` / ``_ARGSTR``);
* :data:`_FIELDS`: every tracepoint of the syscalls group (Linux 6.18, x86_64) with its
  arguments.  A syscall not in :data:`_EXACT` gets a generic alias: its arguments under
  the tracepoint's field names, and ``argstr`` the list of them (strings quoted,
  pointers in hex, numbers in decimal).

Each alias point is also defined under the names stap spells it with (``nd_syscall``,
``nd1_syscall``, ``nd2_syscall``, ``tp_syscall``), all over the same tracepoints.
"""

from __future__ import annotations

import functools

_PREFIXES = ("syscall", "nd_syscall", "nd1_syscall", "nd2_syscall", "tp_syscall")

# --------------------------------------------------------------------------------------
# The tracepoints: "event field:kind ...", kind s (const char *: a user string),
# p (pointer), i (int), u (unsigned int), l (long), U (unsigned long).
# --------------------------------------------------------------------------------------

_FIELDS_TEXT = """\
accept fd:i upeer_sockaddr:p upeer_addrlen:p
accept4 fd:i upeer_sockaddr:p upeer_addrlen:p flags:i
access filename:s mode:i
acct name:s
add_key _type:s _description:s _payload:p plen:U ringid:i
adjtimex txc_p:p
alarm seconds:u
arch_prctl option:i arg2:U
bind fd:i umyaddr:p addrlen:i
bpf cmd:i uattr:p size:u
brk brk:U
cachestat fd:u cstat_range:p cstat:p flags:u
capget header:p dataptr:p
capset header:p data:p
chdir filename:s
chmod filename:s mode:u
chown filename:s user:u group:u
chroot filename:s
clock_adjtime which_clock:i utx:p
clock_getres which_clock:i tp:p
clock_gettime which_clock:i tp:p
clock_nanosleep which_clock:i flags:i rqtp:p rmtp:p
clock_settime which_clock:i tp:p
clone clone_flags:U newsp:U parent_tidptr:p child_tidptr:p tls:U
clone3 uargs:p size:U
close fd:u
close_range fd:u max_fd:u flags:u
connect fd:i uservaddr:p addrlen:i
copy_file_range fd_in:i off_in:p fd_out:i off_out:p len:U flags:u
creat pathname:s mode:u
dup fildes:u
dup2 oldfd:u newfd:u
dup3 oldfd:u newfd:u flags:i
epoll_create size:i
epoll_create1 flags:i
epoll_ctl epfd:i op:i fd:i event:p
epoll_pwait epfd:i events:p maxevents:i timeout:i sigmask:p sigsetsize:U
epoll_pwait2 epfd:i events:p maxevents:i timeout:p sigmask:p sigsetsize:U
epoll_wait epfd:i events:p maxevents:i timeout:i
eventfd count:u
eventfd2 count:u flags:i
execve filename:s argv:p envp:p
execveat fd:i filename:s argv:p envp:p flags:i
exit error_code:i
exit_group error_code:i
faccessat dfd:i filename:s mode:i
faccessat2 dfd:i filename:s mode:i flags:i
fadvise64 fd:i offset:l len:U advice:i
fallocate fd:i mode:i offset:l len:l
fanotify_init flags:u event_f_flags:u
fanotify_mark fanotify_fd:i flags:u mask:U dfd:i pathname:s
fchdir fd:u
fchmod fd:u mode:u
fchmodat dfd:i filename:s mode:u
fchmodat2 dfd:i filename:s mode:u flags:u
fchown fd:u user:u group:u
fchownat dfd:i filename:s user:u group:u flag:i
fcntl fd:u cmd:u arg:U
fdatasync fd:u
fgetxattr fd:i name:s value:p size:U
file_getattr dfd:i filename:s ufattr:p usize:U at_flags:u
file_setattr dfd:i filename:s ufattr:p usize:U at_flags:u
flistxattr fd:i list:p size:U
flock fd:u cmd:u
fork
fremovexattr fd:i name:s
fsconfig fd:i cmd:u _key:s _value:p aux:i
fsetxattr fd:i name:s value:p size:U flags:i
fsmount fs_fd:i flags:u attr_flags:u
fsopen _fs_name:s flags:u
fspick dfd:i path:s flags:u
fstatfs fd:u buf:p
fsync fd:u
ftruncate fd:u length:l
futex uaddr:p op:i val:u utime:p uaddr2:p val3:u
futex_requeue waiters:p flags:u nr_wake:i nr_requeue:i
futex_wait uaddr:p val:U mask:U flags:u timeout:p clockid:i
futex_waitv waiters:p nr_futexes:u flags:u timeout:p clockid:i
futex_wake uaddr:p mask:U nr:i flags:u
futimesat dfd:i filename:s utimes:p
get_mempolicy policy:p nmask:p maxnode:U addr:U flags:U
get_robust_list pid:i head_ptr:p len_ptr:p
getcpu cpup:p nodep:p unused:p
getcwd buf:p size:U
getdents fd:u dirent:p count:u
getdents64 fd:u dirent:p count:u
getegid
geteuid
getgid
getgroups gidsetsize:i grouplist:p
getitimer which:i value:p
getpeername fd:i usockaddr:p usockaddr_len:p
getpgid pid:i
getpgrp
getpid
getppid
getpriority which:i who:i
getrandom ubuf:p len:U flags:u
getresgid rgidp:p egidp:p sgidp:p
getresuid ruidp:p euidp:p suidp:p
getrlimit resource:u rlim:p
getrusage who:i ru:p
getsid pid:i
getsockname fd:i usockaddr:p usockaddr_len:p
getsockopt fd:i level:i optname:i optval:p optlen:p
gettid
gettimeofday tv:p tz:p
getuid
getxattr pathname:s name:s value:p size:U
getxattrat dfd:i pathname:s at_flags:u name:s uargs:p usize:U
inotify_add_watch fd:i pathname:s mask:u
inotify_init
inotify_init1 flags:i
inotify_rm_watch fd:i wd:i
io_cancel ctx_id:U iocb:p result:p
io_destroy ctx:U
io_getevents ctx_id:U min_nr:l nr:l events:p timeout:p
io_pgetevents ctx_id:U min_nr:l nr:l events:p timeout:p usig:p
io_setup nr_events:u ctxp:p
io_submit ctx_id:U nr:l iocbpp:p
io_uring_enter fd:u to_submit:u min_complete:u flags:u argp:p argsz:U
io_uring_register fd:u opcode:u arg:p nr_args:u
io_uring_setup entries:u params:p
ioctl fd:u cmd:u arg:U
ioperm from:U num:U turn_on:i
iopl level:u
ioprio_get which:i who:i
ioprio_set which:i who:i ioprio:i
kcmp pid1:i pid2:i type:i idx1:U idx2:U
keyctl option:i arg2:U arg3:U arg4:U arg5:U
kill pid:i sig:i
landlock_add_rule ruleset_fd:i rule_type:i rule_attr:p flags:u
landlock_create_ruleset attr:p size:U flags:u
landlock_restrict_self ruleset_fd:i flags:u
lchown filename:s user:u group:u
lgetxattr pathname:s name:s value:p size:U
link oldname:s newname:s
linkat olddfd:i oldname:s newdfd:i newname:s flags:i
listen fd:i backlog:i
listmount req:p mnt_ids:p nr_mnt_ids:U flags:u
listxattr pathname:s list:p size:U
listxattrat dfd:i pathname:s at_flags:u list:p size:U
llistxattr pathname:s list:p size:U
lremovexattr pathname:s name:s
lseek fd:u offset:l whence:u
lsetxattr pathname:s name:s value:p size:U flags:i
lsm_get_self_attr attr:u ctx:p size:p flags:u
lsm_list_modules ids:p size:p flags:u
lsm_set_self_attr attr:u ctx:p size:u flags:u
madvise start:U len_in:U behavior:i
mbind start:U len:U mode:U nmask:p maxnode:U flags:u
membarrier cmd:i flags:u cpu_id:i
memfd_create uname:s flags:u
memfd_secret flags:u
migrate_pages pid:i maxnode:U old_nodes:p new_nodes:p
mincore start:U len:U vec:p
mkdir pathname:s mode:u
mkdirat dfd:i pathname:s mode:u
mknod filename:s mode:u dev:u
mknodat dfd:i filename:s mode:u dev:u
mlock start:U len:U
mlock2 start:U len:U flags:i
mlockall flags:i
mmap addr:U len:U prot:U flags:U fd:U off:U
modify_ldt func:i ptr:p bytecount:U
mount dev_name:p dir_name:p type:p flags:U data:p
mount_setattr dfd:i path:s flags:u uattr:p usize:U
move_mount from_dfd:i from_pathname:s to_dfd:i to_pathname:s flags:u
move_pages pid:i nr_pages:U pages:p nodes:p status:p flags:i
mprotect start:U len:U prot:U
mq_getsetattr mqdes:i u_mqstat:p u_omqstat:p
mq_notify mqdes:i u_notification:p
mq_open u_name:s oflag:i mode:u u_attr:p
mq_timedreceive mqdes:i u_msg_ptr:p msg_len:U u_msg_prio:p u_abs_timeout:p
mq_timedsend mqdes:i u_msg_ptr:s msg_len:U msg_prio:u u_abs_timeout:p
mq_unlink u_name:s
mremap addr:U old_len:U new_len:U flags:U new_addr:U
mseal start:U len:U flags:U
msgctl msqid:i cmd:i buf:p
msgget key:i msgflg:i
msgrcv msqid:i msgp:p msgsz:U msgtyp:l msgflg:i
msgsnd msqid:i msgp:p msgsz:U msgflg:i
msync start:U len:U flags:i
munlock start:U len:U
munlockall
munmap addr:U len:U
name_to_handle_at dfd:i name:s handle:p mnt_id:p flag:i
nanosleep rqtp:p rmtp:p
newfstat fd:u statbuf:p
newfstatat dfd:i filename:s statbuf:p flag:i
newlstat filename:s statbuf:p
newstat filename:s statbuf:p
newuname name:p
open filename:s flags:i mode:u
open_by_handle_at mountdirfd:i handle:p flags:i
open_tree dfd:i filename:s flags:u
open_tree_attr dfd:i filename:s flags:u uattr:p usize:U
openat dfd:i filename:s flags:i mode:u
openat2 dfd:i filename:s how:p usize:U
pause
perf_event_open attr_uptr:p pid:i cpu:i group_fd:i flags:U
personality personality:u
pidfd_getfd pidfd:i fd:i flags:u
pidfd_open pid:i flags:u
pidfd_send_signal pidfd:i sig:i info:p flags:u
pipe fildes:p
pipe2 fildes:p flags:i
pivot_root new_root:s put_old:s
pkey_alloc flags:U init_val:U
pkey_free pkey:i
pkey_mprotect start:U len:U prot:U pkey:i
poll ufds:p nfds:u timeout_msecs:i
ppoll ufds:p nfds:u tsp:p sigmask:p sigsetsize:U
prctl option:i arg2:U arg3:U arg4:U arg5:U
pread64 fd:u buf:p count:U pos:l
preadv fd:U vec:p vlen:U pos_l:U pos_h:U
preadv2 fd:U vec:p vlen:U pos_l:U pos_h:U flags:i
prlimit64 pid:i resource:u new_rlim:p old_rlim:p
process_madvise pidfd:i vec:p vlen:U behavior:i flags:u
process_mrelease pidfd:i flags:u
process_vm_readv pid:i lvec:p liovcnt:U rvec:p riovcnt:U flags:U
process_vm_writev pid:i lvec:p liovcnt:U rvec:p riovcnt:U flags:U
pselect6 n:i inp:p outp:p exp:p tsp:p sig:p
ptrace request:l pid:l addr:U data:U
pwrite64 fd:u buf:s count:U pos:l
pwritev fd:U vec:p vlen:U pos_l:U pos_h:U
pwritev2 fd:U vec:p vlen:U pos_l:U pos_h:U flags:i
quotactl cmd:u special:s id:u addr:p
quotactl_fd fd:u cmd:u id:u addr:p
read fd:u buf:p count:U
readahead fd:i offset:l count:U
readlink path:s buf:p bufsiz:i
readlinkat dfd:i pathname:s buf:p bufsiz:i
readv fd:U vec:p vlen:U
reboot magic1:i magic2:i cmd:u arg:p
recvfrom fd:i ubuf:p size:U flags:u addr:p addr_len:p
recvmmsg fd:i mmsg:p vlen:u flags:u timeout:p
recvmsg fd:i msg:p flags:u
remap_file_pages start:U size:U prot:U pgoff:U flags:U
removexattr pathname:s name:s
removexattrat dfd:i pathname:s at_flags:u name:s
rename oldname:s newname:s
renameat olddfd:i oldname:s newdfd:i newname:s
renameat2 olddfd:i oldname:s newdfd:i newname:s flags:u
request_key _type:s _description:s _callout_info:s destringid:i
restart_syscall
rmdir pathname:s
rseq rseq:p rseq_len:u flags:i sig:u
rt_sigaction sig:i act:p oact:p sigsetsize:U
rt_sigpending uset:p sigsetsize:U
rt_sigprocmask how:i nset:p oset:p sigsetsize:U
rt_sigqueueinfo pid:i sig:i uinfo:p
rt_sigreturn
rt_sigsuspend unewset:p sigsetsize:U
rt_sigtimedwait uthese:p uinfo:p uts:p sigsetsize:U
rt_tgsigqueueinfo tgid:i pid:i sig:i uinfo:p
sched_get_priority_max policy:i
sched_get_priority_min policy:i
sched_getaffinity pid:i len:u user_mask_ptr:p
sched_getattr pid:i uattr:p usize:u flags:u
sched_getparam pid:i param:p
sched_getscheduler pid:i
sched_rr_get_interval pid:i interval:p
sched_setaffinity pid:i len:u user_mask_ptr:p
sched_setattr pid:i uattr:p flags:u
sched_setparam pid:i param:p
sched_setscheduler pid:i policy:i param:p
sched_yield
seccomp op:u flags:u uargs:p
select n:i inp:p outp:p exp:p tvp:p
semctl semid:i semnum:i cmd:i arg:U
semget key:i nsems:i semflg:i
semop semid:i tsops:p nsops:u
semtimedop semid:i tsops:p nsops:u timeout:p
sendfile64 out_fd:i in_fd:i offset:p count:U
sendmmsg fd:i mmsg:p vlen:u flags:u
sendmsg fd:i msg:p flags:u
sendto fd:i buff:p len:U flags:u addr:p addr_len:i
set_mempolicy mode:i nmask:p maxnode:U
set_mempolicy_home_node start:U len:U home_node:U flags:U
set_robust_list head:p len:U
set_tid_address tidptr:p
setdomainname name:p len:i
setfsgid gid:u
setfsuid uid:u
setgid gid:u
setgroups gidsetsize:i grouplist:p
sethostname name:p len:i
setitimer which:i value:p ovalue:p
setns fd:i flags:i
setpgid pid:i pgid:i
setpriority which:i who:i niceval:i
setregid rgid:u egid:u
setresgid rgid:u egid:u sgid:u
setresuid ruid:u euid:u suid:u
setreuid ruid:u euid:u
setrlimit resource:u rlim:p
setsid
setsockopt fd:i level:i optname:i optval:p optlen:i
settimeofday tv:p tz:p
setuid uid:u
setxattr pathname:s name:s value:p size:U flags:i
setxattrat dfd:i pathname:s at_flags:u name:s uargs:p usize:U
shmat shmid:i shmaddr:p shmflg:i
shmctl shmid:i cmd:i buf:p
shmdt shmaddr:p
shmget key:i size:U shmflg:i
shutdown fd:i how:i
sigaltstack uss:p uoss:p
signalfd ufd:i user_mask:p sizemask:U
signalfd4 ufd:i user_mask:p sizemask:U flags:i
socket family:i type:i protocol:i
socketpair family:i type:i protocol:i usockvec:p
splice fd_in:i off_in:p fd_out:i off_out:p len:U flags:u
statfs pathname:s buf:p
statmount req:p buf:p bufsize:U flags:u
statx dfd:i filename:s flags:u mask:u buffer:p
swapoff specialfile:s
swapon specialfile:s swap_flags:i
symlink oldname:s newname:s
symlinkat oldname:s newdfd:i newname:s
sync
sync_file_range fd:i offset:l nbytes:l flags:u
syncfs fd:i
sysfs option:i arg1:U arg2:U
sysinfo info:p
syslog type:i buf:p len:i
tee fdin:i fdout:i len:U flags:u
tgkill tgid:i pid:i sig:i
time tloc:p
timer_create which_clock:i timer_event_spec:p created_timer_id:p
timer_delete timer_id:i
timer_getoverrun timer_id:i
timer_gettime timer_id:i setting:p
timer_settime timer_id:i flags:i new_setting:p old_setting:p
timerfd_create clockid:i flags:i
timerfd_gettime ufd:i otmr:p
timerfd_settime ufd:i flags:i utmr:p otmr:p
times tbuf:p
tkill pid:i sig:i
truncate path:s length:l
umask mask:i
umount name:p flags:i
unlink pathname:s
unlinkat dfd:i pathname:s flag:i
unshare unshare_flags:U
uprobe
uretprobe
userfaultfd flags:i
ustat dev:u ubuf:p
utime filename:p times:p
utimensat dfd:i filename:s utimes:p flags:i
utimes filename:p utimes:p
vfork
vhangup
vmsplice fd:i uiov:p nr_segs:U flags:u
wait4 upid:i stat_addr:p options:i ru:p
waitid which:i upid:i infop:p options:i ru:p
write fd:u buf:s count:U
writev fd:U vec:p vlen:U
"""

# --------------------------------------------------------------------------------------
# The exact syscalls.  Each entry: tapset name, then one or more variants
# (tracepoint, body, argstr), then the return_str format (1 decimal, 2 hex, 3 octal).
# A body is "var = expr" assignments separated by ";"; "name" is set first from the
# tapset name unless the body sets it.
# --------------------------------------------------------------------------------------

_DFD = "dfd = __int32($dfd); dfd_str = _dfd_str(dfd)"
_DIRFD = "dirfd = __int32($dfd); dirfd_str = _dfd_str(dirfd)"
_OPEN = (
    "filename = user_string_quoted($filename); flags = __int32($flags); "
    "flags_str = _sys_open_flag_str(flags); mode = __uint32($mode)"
)
_NOARGS = ("", '""')
_STR_TRUNC = "50"  # syscalls_cfg_trunc.stp: syscall_string_trunc

_Variant = tuple[str, str, str]  # tracepoint event (without sys_enter_), body, argstr
_Entry = tuple[str, tuple[_Variant, ...], int]


def _e(name: str, body: str, argstr: str, tp: str = "", ret: int = 1) -> _Entry:
    return (name, ((tp or name, body, argstr),), ret)


_EXACT: tuple[_Entry, ...] = (
    _e(
        "open",
        _OPEN,
        'flags & 64 ? sprintf("%s, %s, %#o", filename, flags_str, mode)'
        ' : sprintf("%s, %s", filename, flags_str)',
    ),
    _e(
        "openat",
        f"{_DFD}; {_OPEN}",
        'flags & 64 ? sprintf("%s, %s, %s, %#o", dfd_str, filename, flags_str, mode)'
        ' : sprintf("%s, %s, %s", dfd_str, filename, flags_str)',
    ),
    _e(
        "creat",
        "pathname = user_string_quoted($pathname); mode = __uint32($mode)",
        'sprintf("%s, %#o", pathname, mode)',
    ),
    _e(
        "read",
        "fd = __int32($fd); buf_uaddr = $buf; count = $count",
        'sprintf("%d, %p, %u", fd, buf_uaddr, count)',
    ),
    _e(
        "write",
        "fd = __int32($fd); buf_uaddr = $buf; count = $count; "
        f"buf_str = _stp_trunc_quoted(user_string_n_quoted($buf, count), {_STR_TRUNC})",
        'sprintf("%d, %s, %u", fd, buf_str, count)',
    ),
    _e(
        "pread",
        "fd = __int32($fd); buf_uaddr = $buf; count = $count; offset = $pos",
        'sprintf("%d, %p, %u, %d", fd, buf_uaddr, count, offset)',
        tp="pread64",
    ),
    _e(
        "pwrite",
        "fd = __int32($fd); buf_uaddr = $buf; count = $count; offset = $pos; "
        f"buf_str = _stp_trunc_quoted(user_string_n_quoted($buf, count), {_STR_TRUNC})",
        'sprintf("%d, %s, %u, %d", fd, buf_str, count, offset)',
        tp="pwrite64",
    ),
    _e(
        "readv",
        "fd = __int32($fd); vector_uaddr = $vec; count = __int32($vlen)",
        'sprintf("%d, %p, %d", fd, vector_uaddr, count)',
    ),
    _e(
        "writev",
        "fd = __int32($fd); vector_uaddr = $vec; count = __int32($vlen)",
        'sprintf("%d, %p, %d", fd, vector_uaddr, count)',
    ),
    _e("close", "fd = __int32($fd)", "sprint(fd)"),
    _e(
        "lseek",
        "fildes = __int32($fd); offset = $offset; whence = __uint32($whence); "
        "whence_str = _seek_whence_str(whence)",
        'sprintf("%d, %d, %s", fildes, offset, whence_str)',
    ),
    _e(
        "stat",
        "filename_uaddr = $filename; filename = user_string_quoted($filename); "
        "buf_uaddr = $statbuf",
        'sprintf("%s, %p", filename, buf_uaddr)',
        tp="newstat",
    ),
    _e(
        "lstat",
        "path = user_string_quoted($filename); buf_uaddr = $statbuf",
        'sprintf("%s, %p", path, buf_uaddr)',
        tp="newlstat",
    ),
    _e(
        "fstat",
        "filedes = __int32($fd); buf_uaddr = $statbuf",
        'sprintf("%d, %p", filedes, buf_uaddr)',
        tp="newfstat",
    ),
    _e(
        "fstatat",
        f"{_DIRFD}; path = user_string_quoted($filename); buf_uaddr = $statbuf; "
        "flags = __int32($flag); flags_str = _at_flag_str(flags)",
        'sprintf("%s, %s, %p, %s", dirfd_str, path, buf_uaddr, flags_str)',
        tp="newfstatat",
    ),
    _e(
        "statx",
        f"{_DFD}; filename_uaddr = $filename; filename = user_string_quoted($filename); "
        "flags = __uint32($flags); flags_str = _at_flag_str(flags); mask = __uint32($mask); "
        "mask_str = _statx_mask_str(mask); buf_uaddr = $buffer",
        'sprintf("%s, %s, %s, %s, %p", dfd_str, filename, flags_str, mask_str, buf_uaddr)',
    ),
    _e(
        "mmap",
        "start = $addr; len = $len; prot = $prot; prot_str = _mprotect_prot_str(prot); "
        "flags = $flags; flags_str = _mmap_flags(flags); fd = __int32($fd); offset = $off",
        'sprintf("%p, %u, %s, %s, %d, %d", start, len, prot_str, flags_str, fd, offset)',
        ret=2,
    ),
    _e("munmap", "start = $addr; length = $len", 'sprintf("%p, %u", start, length)'),
    _e(
        "mprotect",
        "addr = $start; len = $len; prot = $prot; prot_str = _mprotect_prot_str(prot)",
        'sprintf("%p, %u, %s", addr, len, prot_str)',
    ),
    _e(
        "mremap",
        "old_address = $addr; old_size = $old_len; new_size = $new_len; flags = $flags; "
        "flags_str = _mremap_flags(flags); new_address = $new_addr",
        'sprintf("%p, %d, %d, %s, %p", old_address, old_size, new_size, flags_str, new_address)',
        ret=2,
    ),
    _e(
        "madvise",
        "start = $start; length = $len_in; advice = __int32($behavior); "
        "advice_str = _madvice_advice_str(advice)",
        'sprintf("%p, %u, %s", start, length, advice_str)',
    ),
    _e("brk", "brk = $brk", 'sprintf("%p", brk)'),
    _e(
        "execve",
        "filename = user_string_quoted($filename); args = __get_argv($argv, 0); "
        "env_str = __get_argv($envp, 0)",
        'sprintf("%s, %s, %s", filename, args, env_str)',
    ),
    _e(
        "execveat",
        "dirfd = __int32($fd); dirfd_str = _dfd_str(dirfd); "
        "filename = user_string_quoted($filename); args = __get_argv($argv, 0); "
        "env_str = __get_argv($envp, 0); flags = __int32($flags); "
        "flags_str = _at_flag_str(flags)",
        'sprintf("%s, %s, %s, %s, %s", dirfd_str, filename, args, env_str, flags_str)',
    ),
    _e(
        "clone",
        "clone_flags = $clone_flags; stack_start = $newsp; "
        "parent_tid_uaddr = $parent_tidptr; child_tid_uaddr = $child_tidptr",
        'sprintf("%s, %p, %p, %p", __fork_flags(clone_flags), stack_start, '
        "parent_tid_uaddr, child_tid_uaddr)",
    ),
    _e("fork", *_NOARGS),
    _e("vfork", *_NOARGS),
    _e("exit", "status = __int32($error_code)", "sprint(status)"),
    _e("exit_group", "status = __int32($error_code)", "sprint(status)"),
    _e(
        "wait4",
        "pid = __int32($upid); status_uaddr = $stat_addr; options = __int32($options); "
        "options_str = _wait4_opt_str(options); rusage_uaddr = $ru",
        'sprintf("%d, %p, %s, %p", pid, status_uaddr, options_str, rusage_uaddr)',
    ),
    _e(
        "waitid",
        "which = __int32($which); which_str = _waitid_which_str(which); "
        "pid = __int32($upid); infop_uaddr = $infop; options = __int32($options); "
        "options_str = _wait4_opt_str(options); rusage_uaddr = $ru",
        'sprintf("%s, %d, %p, %s, %p", which_str, pid, infop_uaddr, options_str, rusage_uaddr)',
    ),
    _e(
        "kill",
        "pid = __int32($pid); sig = __int32($sig); sig_name = _signal_name(sig)",
        'sprintf("%d, %s", pid, sig_name)',
    ),
    _e(
        "tgkill",
        "tgid = __int32($tgid); pid = __int32($pid); sig = __int32($sig); "
        "sig_str = _signal_name(sig)",
        'sprintf("%d, %d, %s", tgid, pid, sig_str)',
    ),
    _e(
        "tkill",
        "pid = __int32($pid); sig = __int32($sig); sig_str = _signal_name(sig)",
        'sprintf("%d, %s", pid, sig_str)',
    ),
    _e(
        "rt_sigaction",
        "sig = __int32($sig); sig_str = _signal_name(sig); act_uaddr = $act; "
        "act_str = _struct_sigaction_u(act_uaddr); oact_uaddr = $oact; "
        "sigsetsize = $sigsetsize",
        'sprintf("%s, {%s}, %p, %d", sig_str, act_str, oact_uaddr, sigsetsize)',
    ),
    _e(
        "rt_sigprocmask",
        "how = __int32($how); how_str = _sigprocmask_how_str(how); set_uaddr = $nset; "
        "set_str = _stp_sigset_u(set_uaddr); oldset_uaddr = $oset; "
        "sigsetsize = __uint32($sigsetsize)",
        'sprintf("%s, %s, %p, %d", how_str, set_str, oldset_uaddr, sigsetsize)',
    ),
    _e("rt_sigreturn", *_NOARGS),
    _e(
        "sigaltstack",
        "uss_uaddr = $uss; uss_str = _stp_sigaltstack_u(uss_uaddr); uoss_uaddr = $uoss",
        'sprintf("%s, %p", uss_str, uoss_uaddr)',
    ),
    _e(
        "ioctl",
        "fd = __int32($fd); request = __int32($cmd); argp = $arg",
        'sprintf("%d, %d, %p", fd, request, argp)',
    ),
    _e(
        "fcntl",
        "fd = __int32($fd); cmd = __int32($cmd); cmd_str = _fcntl_cmd_str(cmd); arg = $arg",
        'sprintf("%d, %s, %p", fd, cmd_str, arg)',
    ),
    _e(
        "flock",
        "fd = __int32($fd); operation = __int32($cmd)",
        'sprintf("%d, %s", fd, _flock_cmd_str(operation))',
    ),
    _e("dup", "oldfd = __int32($fildes)", "sprint(oldfd)"),
    _e(
        "dup2",
        'oldfd = __int32($oldfd); newfd = __int32($newfd); flags = 0; flags_str = "0x0"',
        'sprintf("%d, %d", oldfd, newfd)',
    ),
    _e(
        "dup3",
        "oldfd = __int32($oldfd); newfd = __int32($newfd); flags = __int32($flags); "
        "flags_str = _dup3_flag_str(flags)",
        'sprintf("%d, %d, %s", oldfd, newfd, flags_str)',
    ),
    (
        "pipe",
        (
            (
                "pipe2",
                'name = "pipe2"; flags = __int32($flags); '
                "flag_str = _sys_pipe2_flag_str(flags); fildes_uaddr = $fildes; "
                "pipe0 = 0; pipe1 = 0",
                'fildes_uaddr == 0 ? "NULL" : sprintf("[%d, %d], %s", pipe0, pipe1, flag_str)',
            ),
            (
                "pipe",
                'flags = 0; flag_str = ""; fildes_uaddr = $fildes; pipe0 = 0; pipe1 = 0',
                'fildes_uaddr == 0 ? "NULL" : sprintf("[%d, %d]", pipe0, pipe1)',
            ),
        ),
        1,
    ),
    _e(
        "poll",
        "ufds_uaddr = $ufds; nfds = __uint32($nfds); timeout = __int32($timeout_msecs)",
        'sprintf("%p, %u, %d", ufds_uaddr, nfds, timeout)',
    ),
    _e(
        "ppoll",
        "fds_uaddr = $ufds; nfds = __uint32($nfds); tsp = $tsp; "
        "tsp_str = _struct_timespec_u(tsp, 1); sigmask = $sigmask; sigsetsize = $sigsetsize",
        'sprintf("%p, %u, %s, %p, %d", fds_uaddr, nfds, tsp_str, sigmask, sigsetsize)',
    ),
    _e(
        "select",
        "n = __int32($n); readfds_uaddr = $inp; writefds_uaddr = $outp; "
        "exceptfds_uaddr = $exp; timeout_uaddr = $tvp; "
        "timeout_str = _struct_timeval_u(timeout_uaddr, 1)",
        'sprintf("%d, %p, %p, %p, %s", n, readfds_uaddr, writefds_uaddr, exceptfds_uaddr, '
        "timeout_str)",
    ),
    _e(
        "pselect6",
        "nfds = __int32($n); readfds = $inp; writefds = $outp; exceptfds = $exp; "
        "timeout = $tsp; timeout_str = _struct_timespec_u(timeout, 1); sigmask = $sig",
        'sprintf("%d, %p, %p, %p, %s, %p", nfds, readfds, writefds, exceptfds, '
        "timeout_str, sigmask)",
    ),
    (
        "epoll_create",
        (
            (
                "epoll_create1",
                'size = 0; flags = __int32($flags); name = flags == 0 ? "epoll_create" '
                ': "epoll_create1"',
                "flags == 0 ? sprint(size) : _epoll_create1_flag_str(flags)",
            ),
            ("epoll_create", "size = __int32($size); flags = 0", "sprint(size)"),
        ),
        1,
    ),
    _e(
        "epoll_ctl",
        "epfd = __int32($epfd); op = __int32($op); op_str = _opoll_op_str(op); "
        "fd = __int32($fd); event_uaddr = $event",
        'sprintf("%d, %s, %d, %p", epfd, op_str, fd, event_uaddr)',
    ),
    _e(
        "epoll_wait",
        "epfd = __int32($epfd); events_uaddr = $events; maxevents = __int32($maxevents); "
        "timeout = __int32($timeout)",
        'sprintf("%d, %p, %d, %d", epfd, events_uaddr, maxevents, timeout)',
    ),
    _e(
        "epoll_pwait",
        "epfd = __int32($epfd); events_uaddr = $events; maxevents = __int32($maxevents); "
        "timeout = __int32($timeout); sigmask_uaddr = $sigmask; sigsetsize = $sigsetsize",
        'sprintf("%d, %p, %d, %d, %p, %d", epfd, events_uaddr, maxevents, timeout, '
        "sigmask_uaddr, sigsetsize)",
    ),
    (
        "eventfd",
        (
            (
                "eventfd2",
                'name = "eventfd2"; count = __uint32($count); flags = __int32($flags); '
                "flags_str = _eventfd2_flag_str(flags)",
                'sprintf("%u, %s", count, flags_str)',
            ),
            (
                "eventfd",
                'count = __uint32($count); flags = 0; flags_str = "0x0"',
                "sprint(count)",
            ),
        ),
        1,
    ),
    _e(
        "futex",
        "futex_uaddr = $uaddr; op = __int32($op); val = __int32($val); utime_uaddr = $utime; "
        "uaddr2_uaddr = $uaddr2; val3 = __int32($val3)",
        "_futex_argstr(futex_uaddr, op, val, utime_uaddr, uaddr2_uaddr, val3)",
    ),
    _e(
        "nanosleep",
        "req_uaddr = $rqtp; rem_uaddr = $rmtp; req_str = _struct_timespec_u(req_uaddr, 1)",
        'sprintf("%s, %p", req_str, rem_uaddr)',
    ),
    _e(
        "clock_nanosleep",
        "clk_id = __int32($which_clock); clk_id_str = _get_wc_str(clk_id); "
        "flags = __int32($flags); flags_str = _stp_clock_nanosleep_flags_str(flags); "
        "req_uaddr = $rqtp; rem_uaddr = $rmtp; req_str = _struct_timespec_u(req_uaddr, 1)",
        'sprintf("%s, %s, %s, %p", clk_id_str, flags_str, req_str, rem_uaddr)',
    ),
    _e(
        "clock_gettime",
        "clk_id = __int32($which_clock); clk_id_str = _get_wc_str(clk_id); tp_uaddr = $tp",
        'sprintf("%s, %p", clk_id_str, tp_uaddr)',
    ),
    _e(
        "gettimeofday",
        "tv_uaddr = $tv; tz_uaddr = $tz",
        'sprintf("%p, %p", tv_uaddr, tz_uaddr)',
    ),
    _e("getpid", *_NOARGS),
    _e("getppid", *_NOARGS),
    _e("gettid", *_NOARGS),
    _e("getuid", *_NOARGS),
    _e("geteuid", *_NOARGS),
    _e("getgid", *_NOARGS),
    _e("getegid", *_NOARGS),
    _e("getpgrp", *_NOARGS),
    _e("setsid", *_NOARGS),
    _e("sched_yield", *_NOARGS),
    _e("pause", *_NOARGS),
    _e("sync", *_NOARGS),
    _e(
        "socket",
        "family = __int32($family); family_str = _sock_family_str(family); "
        "type = __int32($type); type_str = _sock_type_str(type); "
        "protocol = __int32($protocol); protocol_str = _sock_protocol_str(family, protocol)",
        'sprintf("%s, %s, %s", family_str, type_str, protocol_str)',
    ),
    _e(
        "socketpair",
        "family = __int32($family); family_str = _sock_family_str(family); "
        "type = __int32($type); type_str = _sock_type_str(type); "
        "protocol = __int32($protocol); protocol_str = _sock_protocol_str(family, protocol); "
        "sv_uaddr = $usockvec",
        'sprintf("%s, %s, %s, %p", family_str, type_str, protocol_str, sv_uaddr)',
    ),
    _e(
        "connect",
        "sockfd = __int32($fd); serv_addr_uaddr = $uservaddr; addrlen = __uint32($addrlen)",
        'sprintf("%d, %s, %u", sockfd, _struct_sockaddr_u(serv_addr_uaddr, addrlen), addrlen)',
    ),
    _e(
        "bind",
        "sockfd = __int32($fd); my_addr_uaddr = $umyaddr; addrlen = __int32($addrlen)",
        'sprintf("%d, %s, %d", sockfd, _struct_sockaddr_u(my_addr_uaddr, addrlen), addrlen)',
    ),
    _e(
        "listen",
        "sockfd = __int32($fd); backlog = __int32($backlog)",
        'sprintf("%d, %d", sockfd, backlog)',
    ),
    _e(
        "accept",
        "sockfd = __int32($fd); addr_uaddr = $upeer_sockaddr; addrlen_uaddr = $upeer_addrlen",
        'sprintf("%d, %p, %p", sockfd, addr_uaddr, addrlen_uaddr)',
    ),
    _e(
        "accept4",
        "sockfd = __int32($fd); addr_uaddr = $upeer_sockaddr; addrlen_uaddr = $upeer_addrlen; "
        "flags = __int32($flags); flags_str = _sock_flags_str(flags)",
        'sprintf("%d, %p, %p, %s", sockfd, addr_uaddr, addrlen_uaddr, flags_str)',
    ),
    _e(
        "sendto",
        "s = __int32($fd); buf_uaddr = $buff; len = $len; flags = __uint32($flags); "
        "flags_str = _msg_flags_str(flags); to_uaddr = $addr; tolen = __uint32($addr_len); "
        'buf = sprintf("0x%x", buf_uaddr); to_str = _struct_sockaddr_u(to_uaddr, tolen)',
        'sprintf("%d, %s, %u, %s, %s, %u", s, buf, len, flags_str, to_str, tolen)',
    ),
    _e(
        "recvfrom",
        "s = __int32($fd); buf_uaddr = $ubuf; len = $size; flags = __uint32($flags); "
        "flags_str = _msg_flags_str(flags); addr_uaddr = $addr; addrlen_uaddr = $addr_len",
        'sprintf("%d, %p, %u, %s, %p, %p", s, buf_uaddr, len, flags_str, addr_uaddr, '
        "addrlen_uaddr)",
    ),
    _e(
        "sendmsg",
        "s = __int32($fd); msg_uaddr = $msg; flags = __uint32($flags); "
        "flags_str = _msg_flags_str(flags)",
        'sprintf("%d, %p, %s", s, msg_uaddr, flags_str)',
    ),
    _e(
        "recvmsg",
        "s = __int32($fd); msg_uaddr = $msg; flags = __uint32($flags); "
        "flags_str = _msg_flags_str(flags)",
        'sprintf("%d, %p, %s", s, msg_uaddr, flags_str)',
    ),
    _e(
        "getsockname",
        "s = __int32($fd); name_uaddr = $usockaddr; namelen_uaddr = $usockaddr_len",
        'sprintf("%d, %p, %p", s, name_uaddr, namelen_uaddr)',
    ),
    _e(
        "getpeername",
        "s = __int32($fd); name_uaddr = $usockaddr; namelen_uaddr = $usockaddr_len",
        'sprintf("%d, %p, %p", s, name_uaddr, namelen_uaddr)',
    ),
    _e(
        "setsockopt",
        "fd = __int32($fd); level = __int32($level); level_str = _sockopt_level_str(level); "
        "optname = __int32($optname); optname_str = _sockopt_optname_str(optname); "
        "optval_uaddr = $optval; optlen = __uint32($optlen)",
        'sprintf("%d, %s, %s, %p, %u", fd, level_str, optname_str, optval_uaddr, optlen)',
    ),
    _e(
        "getsockopt",
        "fd = __int32($fd); level = __int32($level); level_str = _sockopt_level_str(level); "
        "optname = __int32($optname); optname_str = _sockopt_optname_str(optname); "
        "optval_uaddr = $optval; optlen_uaddr = $optlen",
        'sprintf("%d, %s, %s, %p, %p", fd, level_str, optname_str, optval_uaddr, optlen_uaddr)',
    ),
    _e(
        "shutdown",
        "s = __int32($fd); how = __int32($how); how_str = _shutdown_how_str(how)",
        'sprintf("%d, %s", s, how_str)',
    ),
    _e(
        "sendfile",
        "out_fd = __int32($out_fd); in_fd = __int32($in_fd); offset_uaddr = $offset; "
        "count = $count",
        'sprintf("%d, %d, %p, %u", out_fd, in_fd, offset_uaddr, count)',
        tp="sendfile64",
    ),
    (
        "getdents",
        tuple(
            (
                tp,
                "fd = __int32($fd); dirp_uaddr = $dirent; count = __uint32($count)",
                'sprintf("%d, %p, %d", fd, dirp_uaddr, count)',
            )
            for tp in ("getdents", "getdents64")
        ),
        1,
    ),
    _e(
        "access",
        "pathname = user_string_quoted($filename); mode = __int32($mode); "
        "mode_str = _access_mode_str(mode)",
        'sprintf("%s, %s", pathname, mode_str)',
    ),
    _e(
        "faccessat",
        f"{_DIRFD}; pathname = user_string_quoted($filename); mode = __int32($mode); "
        "mode_str = _access_mode_str(mode)",
        'sprintf("%s, %s, %s", dirfd_str, pathname, mode_str)',
    ),
    _e(
        "faccessat2",
        f"{_DIRFD}; pathname = user_string_quoted($filename); mode = __int32($mode); "
        "mode_str = _access_mode_str(mode); flags = __int32($flags); "
        "flags_str = _faccessat2_flags_str(flags)",
        'sprintf("%s, %s, %s, %s", dirfd_str, pathname, mode_str, flags_str)',
    ),
    _e(
        "unlink",
        "pathname_uaddr = $pathname; pathname = user_string_quoted($pathname)",
        "pathname",
    ),
    _e(
        "unlinkat",
        f"{_DFD}; pathname = $pathname; pathname_str = user_string_quoted($pathname); "
        "flag = __uint32($flag); flag_str = _at_flag_str(flag)",
        'sprintf("%s, %s, %s", dfd_str, pathname_str, flag_str)',
    ),
    _e(
        "rename",
        "oldpath = user_string_quoted($oldname); newpath = user_string_quoted($newname)",
        'sprintf("%s, %s", oldpath, newpath)',
    ),
    _e(
        "renameat",
        "olddfd = __int32($olddfd); olddfd_str = _dfd_str(olddfd); oldname = $oldname; "
        "oldname_str = user_string_quoted($oldname); newdfd = __int32($newdfd); "
        "newdfd_str = _dfd_str(newdfd); newname = $newname; "
        "newname_str = user_string_quoted($newname)",
        'sprintf("%s, %s, %s, %s", olddfd_str, oldname_str, newdfd_str, newname_str)',
    ),
    _e(
        "renameat2",
        "olddfd = __int32($olddfd); olddfd_str = _dfd_str(olddfd); oldname = $oldname; "
        "oldname_str = user_string_quoted($oldname); newdfd = __int32($newdfd); "
        "newdfd_str = _dfd_str(newdfd); newname = $newname; "
        "newname_str = user_string_quoted($newname); flags = __uint32($flags); "
        "flags_str = _renameat2_flags_str(flags)",
        'sprintf("%s, %s, %s, %s, %s", olddfd_str, oldname_str, newdfd_str, newname_str, '
        "flags_str)",
    ),
    _e(
        "link",
        "oldpath = user_string_quoted($oldname); newpath = user_string_quoted($newname)",
        'sprintf("%s, %s", oldpath, newpath)',
    ),
    _e(
        "symlink",
        "oldpath = user_string_quoted($oldname); newpath = user_string_quoted($newname)",
        'sprintf("%s, %s", oldpath, newpath)',
    ),
    _e(
        "linkat",
        "olddirfd = __int32($olddfd); olddirfd_str = _dfd_str(olddirfd); "
        "oldpath = user_string_quoted($oldname); newdirfd = __int32($newdfd); "
        "newdirfd_str = _dfd_str(newdirfd); newpath = user_string_quoted($newname); "
        "flags = __int32($flags); flags_str = _at_flag_str(flags)",
        'sprintf("%s, %s, %s, %s, %s", olddirfd_str, oldpath, newdirfd_str, newpath, flags_str)',
    ),
    _e(
        "symlinkat",
        "oldname = $oldname; oldname_str = user_string_quoted($oldname); "
        "newdfd = __int32($newdfd); newdfd_str = _dfd_str(newdfd); newname = $newname; "
        "newname_str = user_string_quoted($newname)",
        'sprintf("%s, %s, %s", oldname_str, newdfd_str, newname_str)',
    ),
    _e(
        "mkdir",
        "pathname_uaddr = $pathname; pathname = user_string_quoted($pathname); "
        "mode = __uint32($mode)",
        'sprintf("%s, %#o", pathname, mode)',
    ),
    _e(
        "mkdirat",
        f"{_DIRFD}; pathname = user_string_quoted($pathname); mode = __uint32($mode)",
        'sprintf("%s, %s, %#o", dirfd_str, pathname, mode)',
    ),
    _e("rmdir", "pathname = user_string_quoted($pathname)", "pathname"),
    _e("chdir", "path = user_string_quoted($filename)", "path"),
    _e("fchdir", "fd = __int32($fd)", "sprint(fd)"),
    _e(
        "readlink",
        "path = user_string_quoted($path); buf_uaddr = $buf; bufsiz = __int32($bufsiz)",
        'sprintf("%s, %p, %d", path, buf_uaddr, bufsiz)',
    ),
    _e(
        "readlinkat",
        f"{_DFD}; path = user_string_quoted($pathname); buf_uaddr = $buf; "
        "bufsiz = __int32($bufsiz)",
        'sprintf("%s, %s, %p, %d", dfd_str, path, buf_uaddr, bufsiz)',
    ),
    _e(
        "chmod",
        "path = user_string_quoted($filename); mode = __uint32($mode)",
        'sprintf("%s, %#o", path, mode)',
    ),
    _e(
        "fchmod",
        "fildes = __int32($fd); mode = __uint32($mode)",
        'sprintf("%d, %#o", fildes, mode)',
    ),
    _e(
        "fchmodat",
        f"{_DIRFD}; pathname = user_string_quoted($filename); mode = __uint32($mode)",
        'sprintf("%s, %s, %#o", dirfd_str, pathname, mode)',
    ),
    _e(
        "chown",
        "path = user_string_quoted($filename); owner = __int32($user); group = __int32($group)",
        'sprintf("%s, %d, %d", path, owner, group)',
    ),
    _e(
        "lchown",
        "path = user_string_quoted($filename); owner = __int32($user); group = __int32($group)",
        'sprintf("%s, %d, %d", path, owner, group)',
    ),
    _e(
        "fchown",
        "fd = __int32($fd); owner = __int32($user); group = __int32($group)",
        'sprintf("%d, %d, %d", fd, owner, group)',
    ),
    _e(
        "fchownat",
        f"{_DIRFD}; pathname = user_string_quoted($filename); owner = __int32($user); "
        "group = __int32($group); flags = __int32($flag); flags_str = _at_flag_str(flags)",
        'sprintf("%s, %s, %d, %d, %s", dirfd_str, pathname, owner, group, flags_str)',
    ),
    _e("umask", "mask = __uint32($mask)", 'sprintf("%#o", mask)', ret=3),
    _e("getcwd", "buf_uaddr = $buf; size = $size", 'sprintf("%p, %d", buf_uaddr, size)'),
    _e(
        "truncate",
        "path_uaddr = $path; path = user_string_quoted($path); length = $length",
        'sprintf("%s, %d", path, length)',
    ),
    _e("ftruncate", "fd = __int32($fd); length = $length", 'sprintf("%d, %d", fd, length)'),
    _e("fsync", "fd = __int32($fd)", "sprint(fd)"),
    _e("fdatasync", "fd = __int32($fd)", "sprint(fd)"),
    _e(
        "statfs",
        "path = user_string_quoted($pathname); buf_uaddr = $buf",
        'sprintf("%s, %p", path, buf_uaddr)',
    ),
    _e(
        "fstatfs",
        "fd = __int32($fd); buf_uaddr = $buf",
        'sprintf("%d, %p", fd, buf_uaddr)',
    ),
    _e(
        "utimensat",
        f"{_DFD}; filename_uaddr = $filename; filename = user_string_quoted($filename); "
        "tsp_uaddr = $utimes; tsp_str = _struct_timespec_u(tsp_uaddr, 2); "
        "flags = __int32($flags); flags_str = _at_flag_str(flags)",
        'sprintf("%s, %s, %s, %s", dfd_str, filename, tsp_str, flags_str)',
    ),
    _e(
        "prlimit64",
        "pid = __int32($pid); resource = __int32($resource); "
        "resource_str = _rlimit_resource_str(resource); new_rlim_uaddr = $new_rlim; "
        "new_rlim_str = _struct_rlimit_u(new_rlim_uaddr); old_rlim_uaddr = $old_rlim",
        'sprintf("%d, %s, %s, %p", pid, resource_str, new_rlim_str, old_rlim_uaddr)',
    ),
    _e(
        "getrandom",
        "buf = user_string_quoted($ubuf); count = $len; flags = __uint32($flags); "
        "flags_str = _getrandom_flags_str(flags)",
        'sprintf("%s, %u, %s", buf, count, flags_str)',
    ),
    _e("set_tid_address", "tidptr_uaddr = $tidptr", 'sprintf("%p", tidptr_uaddr)'),
    _e(
        "set_robust_list",
        "list_head_uaddr = $head; len = $len",
        'sprintf("%p, %u", list_head_uaddr, len)',
    ),
    _e(
        "arch_prctl",
        "code = __int32($option); code_str = _stp_arch_prctl_func_str(code); addr = $arg2",
        'sprintf("%s, %u", code_str, addr)',
    ),
    _e("uname", "name_uaddr = $name", 'sprintf("%p", name_uaddr)', tp="newuname"),
    _e(
        "sysinfo",
        "info_uaddr = $info; info_str = _struct_sysinfo_u(info_uaddr)",
        'sprintf("%s", info_str)',
    ),
    _e(
        "inotify_add_watch",
        "fd = __int32($fd); path_uaddr = $pathname; path = user_string_quoted($pathname); "
        "mask = __uint32($mask); mask_str = _inotify_watch_mask_str(mask)",
        'sprintf("%d, %s, %s", fd, path, mask_str)',
    ),
    _e(
        "memfd_create",
        "uname = user_string_quoted($uname); flags = __uint32($flags); "
        "flags_str = _mfd_flags_str(flags)",
        'sprintf("%s, %s", uname, flags_str)',
    ),
)

_RESERVED = frozenset(
    (
        *("name", "argstr", "retstr", "retval", "syscall_nr", "probe", "global", "function"),
        *("if", "else", "for", "foreach", "in", "limit", "return", "delete", "while"),
        *("break", "continue", "next", "try", "catch", "private", "string", "long"),
    )
)
_GENERIC_FORMATS = {"s": "%s", "p": "%p", "i": "%d", "u": "%u", "l": "%d", "U": "%u"}


@functools.cache
def _fields() -> dict[str, tuple[tuple[str, str], ...]]:
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for line in _FIELDS_TEXT.splitlines():
        event, *cols = line.split()
        out[event] = tuple((c[:-2], c[-1]) for c in cols)
    return out


def _generic(event: str) -> _Entry:
    stmts: list[str] = []
    fmts: list[str] = []
    names: list[str] = []
    for field, kind in _fields()[event]:
        var = field + "_arg" if field in _RESERVED else field
        if kind == "s":
            expr = f"user_string_quoted(${field})"
        elif kind == "i":
            expr = f"__int32(${field})"
        elif kind == "u":
            expr = f"__uint32(${field})"
        else:
            expr = f"${field}"
        stmts.append(f"{var} = {expr}")
        fmts.append(_GENERIC_FORMATS[kind])
        names.append(var)
    argstr = f'sprintf("{", ".join(fmts)}", {", ".join(names)})' if names else '""'
    return (event, ((event, "; ".join(stmts), argstr),), 1)


@functools.cache
def _entries() -> dict[str, _Entry]:
    """Every syscall alias by tapset name: the exact ones, then a generic one for each
    remaining tracepoint."""
    out = {e[0]: e for e in _EXACT}
    covered = {v[0] for e in _EXACT for v in e[1]}
    for event in _fields():
        if event not in covered and event not in out:
            out[event] = _generic(event)
    return out


def _body(stmts: list[str]) -> str:
    return "{\n" + "".join(f"  {s}\n" for s in stmts) + "}\n"


def _split(body: str) -> list[str]:
    return [s.strip() for s in body.split(";") if s.strip()]


def _entry_source(point: str, entry: _Entry) -> str:
    name, variants, _ = entry
    parts = []
    for event, body, argstr in variants:
        stmts = [f'name = "{name}"', "syscall_nr = $__syscall_nr"]
        own = _split(body)
        if any(s.startswith("name = ") for s in own):
            stmts = stmts[1:]
        stmts += own
        stmts.append(f"argstr = {argstr}")
        parts.append(f'probe {point} = kernel.trace("syscalls:sys_enter_{event}")\n' + _body(stmts))
    return "".join(parts)


def _return_source(point: str, entry: _Entry) -> str:
    name, variants, fmt = entry
    parts = []
    for event, body, _ in variants:
        sets_name = any(s.startswith("name = ") for s in _split(body))
        first = [f'name = "{event if sets_name else name}"']
        stmts = [
            *first,
            "syscall_nr = $__syscall_nr",
            "retval = $ret",
            f"retstr = return_str({fmt}, $ret)",
        ]
        parts.append(f'probe {point} = kernel.trace("syscalls:sys_exit_{event}")\n' + _body(stmts))
    return "".join(parts)


_ANY = {
    "syscall_any": 'probe {p} = kernel.trace("raw_syscalls:sys_enter")\n'
    + _body(["syscall_nr = $id", "name = syscall_name($id)"]),
    "syscall_any.return": 'probe {p} = kernel.trace("raw_syscalls:sys_exit")\n'
    + _body(["syscall_nr = $id", "name = syscall_name($id)", "retval = $ret"]),
}


@functools.cache
def _table() -> dict[str, tuple[str, _Entry | None, bool]]:
    """Alias point -> (kind, entry, is_return)."""
    out: dict[str, tuple[str, _Entry | None, bool]] = {}
    for key, entry in _entries().items():
        for prefix in _PREFIXES:
            out[f"{prefix}.{key}"] = ("sys", entry, False)
            out[f"{prefix}.{key}.return"] = ("sys", entry, True)
    for prefix in ("", "nd_", "tp_"):
        out[prefix + "syscall_any"] = ("any", None, False)
        out[prefix + "syscall_any.return"] = ("any", None, True)
    return out


def alias_points() -> list[str]:
    """Every alias probe point this tapset defines (``syscall.openat``,
    ``nd_syscall.openat.return``, ``syscall_any``...)."""
    return list(_points())


@functools.cache
def _points() -> tuple[str, ...]:
    return tuple(_table())


@functools.cache
def alias_source(point: str) -> str:
    """The SystemTap text defining alias ``point`` (one or more ``probe point = ...``
    definitions of that name).  KeyError if this tapset has no such point."""
    kind, entry, is_return = _table()[point]
    if kind == "any":
        return _ANY["syscall_any.return" if is_return else "syscall_any"].replace("{p}", point)
    assert entry is not None
    return _return_source(point, entry) if is_return else _entry_source(point, entry)


def exact_syscalls() -> list[str]:
    """The tapset names of the syscalls rendered as stap renders them."""
    return [e[0] for e in _EXACT]

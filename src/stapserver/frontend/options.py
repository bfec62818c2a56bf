"""SystemTap's command line, read as stap reads it (GNU getopt with permutation).

The same parser serves ``pystap`` (which runs passes 1–5 here) and the compile server
(which runs passes 1–4 for a client, with ``client_options`` refusing what a remote user
must not control, as ``stap --client-options`` does).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO

from ..errors import InputError, UsageError

# stap's short options; a colon marks those taking a value.
SHORT_OPTIONS = "hVvtp:I:e:o:R:r:a:m:kgPc:x:D:bs:uqiwl:d:L:FS:B:WG:T:"
LONG_OPTIONS = {
    # name: takes a value
    "help": False,
    "version": False,
    "runtime": True,
    "privilege": True,
    "unprivileged": False,
    "compatible": True,
    "suppress-handler-errors": False,
    "skip-badvars": False,
    "ldd": False,
    "all-modules": False,
    "poison-cache": False,
    "tmpdir": True,
    "vp": True,
    "disable-cache": False,
    "suppress-time-limits": False,
    "color": False,
    "colour": False,
    "prologue-searching": False,
    "sysroot": True,
    "sysenv": True,
    "target-namespaces": True,
    "monitor": False,
    "interactive": False,
    "use-server": False,
    "use-server-on-error": False,
    "list-servers": False,
    "trust-servers": False,
    "remote": True,
    "remote-prefix": False,
    "download-debuginfo": False,
    "dump-probe-types": False,
    "dump-probe-aliases": False,
    "dump-functions": False,
    "rlimit-as": True,
    "rlimit-cpu": True,
    "rlimit-nproc": True,
    "rlimit-stack": True,
    "rlimit-data": True,
    "rlimit-fsize": True,
    "kmap": False,
    "kelf": False,
    "modinfo": True,
    "benchmark-sdt": False,
    "benchmark-sdt-loops": True,
    "benchmark-sdt-threads": True,
    "save-uprobes": False,
    "no-global-var-display": False,
}
# Accepted, and meaningless for the python runtime: they tune kernel modules.
HARMLESS_LONG = frozenset(
    [
        "ldd",
        "all-modules",
        "poison-cache",
        "disable-cache",
        "color",
        "colour",
        "prologue-searching",
        "skip-badvars",
        "suppress-time-limits",
    ]
)
RUNTIMES = ("kernel", "bpf", "dyninst", "python")
PRIVILEGES = ("stapusr", "stapsys", "stapdev")
LIMIT_NAMES = frozenset(
    [
        "MAXACTION",
        "MAXACTION_INTERRUPTIBLE",
        "MAXMAPENTRIES",
        "MAXSTRINGLEN",
        "MAXNESTING",
        "MAXERRORS",
        "MAXSKIPPED",
        "MAXTRYLOCK",
        "TRYLOCKDELAY",
        "STP_OVERLOAD_THRESHOLD",
        "STP_OVERLOAD_INTERVAL",
        "MINSTACKSPACE",
        "INTERRUPTIBLE",
        "HIST_ELISION",
    ]
)
MODULE_NAME = re.compile(r"^[a-z0-9_]+$")
_DEFINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(=.*)?$", re.S)


class Options:
    """A parsed stap command line.  (A plain class: ``dataclasses`` would cost
    ``stap-client`` a sixth of its start-up.)"""

    def __init__(self) -> None:
        self.last_pass: int = 5
        self.verbose: int = 0
        self.script_file: str | None = None  # a path, or "-" for standard input
        self.script_text: str | None = None  # -e
        self.args: list[str] = []  # the script's own arguments
        self.module_name: str | None = None
        self.output: str | None = None
        self.command: str | None = None
        self.target_pid: int | None = None
        self.timeout: int | None = None  # -T SECONDS
        self.buffer_mb = 0  # -s NUM
        self.defines: list[tuple[str, str]] = []
        self.include: list[str] = []
        self.kernel_release: str | None = None
        self.arch: str | None = None
        self.runtime: str | None = None
        self.privilege: str = "stapdev"
        self.privilege_set: bool = False
        self.compatible: str | None = None
        self.suppress_warnings: bool = False
        self.suppress_handler_errors = False
        self.list_probes: str | None = None  # -l/-L PROBE
        self.list_variables = False  # -L
        self.guru: bool = False
        self.globals: list[tuple[str, str]] = []  # -G name=value
        self.help: bool = False
        self.version: bool = False
        self.unsupported: list[str] = []
        # every option, in order, as ("-p", "4") / ("--runtime", "python"): for forwarding
        self.given: list[tuple[str, str | None]] = []
        self.no_global_display: bool = False

    @property
    def has_script(self) -> bool:
        return self.script_file is not None or self.script_text is not None


def _int(text: str, message: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise UsageError(message) from None


def _split(argv: list[str]) -> tuple[list[tuple[str, str | None]], list[str]]:
    """GNU getopt_long with permutation: (options in order, operands in order)."""
    opts: list[tuple[str, str | None]] = []
    operands: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            operands.extend(argv[i:])
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            matches = [n for n in LONG_OPTIONS if n == name] or [
                n for n in LONG_OPTIONS if n.startswith(name)
            ]
            if len(matches) != 1:
                if not matches:
                    raise UsageError(f"unrecognized option '--{name}'")
                raise UsageError(f"option '--{name}' is ambiguous")
            name = matches[0]
            if LONG_OPTIONS[name]:
                if not eq:
                    if i >= len(argv):
                        raise UsageError(f"option '--{name}' requires an argument")
                    value = argv[i]
                    i += 1
                opts.append(("--" + name, value))
            else:
                if eq:
                    raise UsageError(f"option '--{name}' doesn't allow an argument")
                opts.append(("--" + name, None))
            continue
        if arg.startswith("-") and arg != "-":
            j = 1
            while j < len(arg):
                ch = arg[j]
                pos = SHORT_OPTIONS.find(ch)
                if pos < 0 or ch == ":":
                    raise UsageError(f"invalid option -- '{ch}'")
                takes = pos + 1 < len(SHORT_OPTIONS) and SHORT_OPTIONS[pos + 1] == ":"
                if takes:
                    value = arg[j + 1 :]
                    if not value:
                        if i >= len(argv):
                            raise UsageError(f"option requires an argument -- '{ch}'")
                        value = argv[i]
                        i += 1
                    opts.append(("-" + ch, value))
                    break
                opts.append(("-" + ch, None))
                j += 1
            continue
        operands.append(arg)
    return opts, operands


def parse_options(argv: list[str]) -> Options:
    """Parse a stap command line; :class:`UsageError` names what is wrong."""
    o = Options()
    opts, operands = _split(argv)
    o.given = opts
    for name, value in opts:
        v = value or ""
        if name == "-h" or name == "--help":
            o.help = True
        elif name == "-V" or name == "--version":
            o.version = True
        elif name == "-v":
            o.verbose += 1
        elif name == "-p":
            if not re.fullmatch("[0-9]+", v) or not 1 <= int(v) <= 5:
                raise UsageError("Invalid pass number (should be 1-5).")
            o.last_pass = int(v)
        elif name == "-e":
            if o.script_text is not None:
                raise UsageError("Only one script may be given with -e.")
            o.script_text = v
        elif name == "-I":
            o.include.append(v)
        elif name == "-m":
            if not MODULE_NAME.match(v) or len(v) > 55:
                raise UsageError(
                    f"Invalid module name '{v}': use 1 to 55 of the characters a-z, 0-9 and _."
                )
            o.module_name = v
        elif name == "-o":
            o.output = v
        elif name == "-c":
            o.command = v
        elif name == "-x":
            pid = _int(v, "Invalid target process ID number.")
            if pid <= 0:
                raise UsageError("Invalid target process ID number.")
            o.target_pid = pid
        elif name == "-D":
            if not _DEFINE.match(v):
                raise UsageError(f"Invalid -D option '{v}': expected NAME or NAME=VALUE.")
            key, _, val = v.partition("=")
            o.defines.append((key, val))
        elif name == "-G":
            key, eq, val = v.partition("=")
            if not eq or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                raise UsageError(f"Invalid -G option '{v}': expected NAME=VALUE.")
            o.globals.append((key, val))
        elif name == "-r":
            if not re.match(r"^[A-Za-z0-9_.+/-]+$", v):
                raise UsageError(f"Invalid kernel release '{v}'.")
            o.kernel_release = v
        elif name == "-a":
            o.arch = v
        elif name == "-w":
            o.suppress_warnings = True
        elif name == "-g":
            o.guru = True
        elif name == "-T":
            seconds = _int(v, "Invalid timeout interval.")
            if seconds <= 0:
                raise UsageError("Invalid timeout interval.")
            o.timeout = seconds
        elif name == "-s":
            mb = _int(v, "Invalid buffer size (should be 1-4095).")
            if not 1 <= mb <= 4095:
                raise UsageError("Invalid buffer size (should be 1-4095).")
            o.buffer_mb = mb
        elif name in ("-k", "-u", "-t", "-q", "-P", "-W", "-d"):
            pass  # tuning of kernel builds and buffers: nothing to do in user space
        elif name == "--runtime":
            if v not in RUNTIMES:
                raise UsageError(f"{v} is an invalid argument for --runtime")
            o.runtime = v
        elif name == "--privilege":
            if v not in PRIVILEGES:
                raise UsageError(
                    f"Invalid argument '{v}' for --privilege (use stapusr, stapsys or stapdev)."
                )
            o.privilege = v
            o.privilege_set = True
        elif name == "--unprivileged":
            o.privilege = "stapusr"
            o.privilege_set = True
        elif name == "--compatible":
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", v):
                raise UsageError(f"Invalid --compatible version '{v}'.")
            o.compatible = v
        elif name == "--no-global-var-display":
            o.no_global_display = True
        elif name in ("-l", "-L"):
            o.list_probes = v
            o.list_variables = name == "-L"
        elif name == "--suppress-handler-errors":
            o.suppress_handler_errors = True
        elif name[2:] in HARMLESS_LONG:
            pass
        else:
            o.unsupported.append(name)
    if o.command is not None and o.target_pid is not None:
        raise UsageError("You can't specify -c and -x together.")
    if o.guru and o.privilege_set and o.privilege != "stapdev":
        raise UsageError(f"You can't specify -g and --privilege={o.privilege} together.")
    rest = list(operands)
    if o.list_probes is not None:  # the script is the probe point
        o.script_text = f"probe {o.list_probes} {{}}"
        o.last_pass = 2
    elif o.script_text is None and rest:
        o.script_file = rest.pop(0)
    o.args = rest
    return o


def read_stdin(stdin: IO[bytes]) -> bytes:
    """The script from standard input (``-``); InputError if it cannot be read (closed)."""
    try:
        return stdin.read()
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or "it is closed"
        raise InputError(f"cannot read the script from standard input: {reason}") from None


def read_script_file(path: Path, given: str) -> bytes:
    """The script file the user named ``given``; InputError in stap's words."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"Input file '{given}' is missing.") from None
    except IsADirectoryError:
        raise InputError(f"Input file '{given}' can't be opened for reading.") from None
    except OSError as err:
        raise InputError(
            f"Input file '{given}' can't be opened for reading: {err.strerror}."
        ) from None

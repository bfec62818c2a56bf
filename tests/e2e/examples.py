"""SystemTap's example scripts, run the way SystemTap's own test suite runs them, with
``pystap`` in place of ``stap``.

Every ``.meta`` under ``/usr/share/systemtap/examples`` with a ``test_installcheck:``
line names a command (``stap sig_by_proc.stp -T 1``, or a shell line with pipes, ``||``
and ``-c "..."``).  Each runs with ``sh -c`` in its example's folder (read in place),
with a temporary folder holding a ``stap`` that execs our ``pystap`` first on ``PATH``,
stdin from ``/dev/null``, in a process group of its own that is killed on timeout; a few
at once.  An example passes when its command exits 0; otherwise its reason is the first
``ERROR:``/``semantic error:``/``parse error:`` line of its stderr.

``--diagnose`` also runs each failing example's scripts to pass 2 (``-p2 -v``, without
the options that only matter when a script runs: ``-T``, ``-c``, ``-x``, ``-o``, ...),
to see every diagnostic behind the first, and lists the probe points of the examples
that fail on probe points alone (from the scripts' ``probe`` lines).

``--probes`` lists every example's probe points from its script, run nothing.

Usage: ``python -m tests.e2e.examples [--write FILE] [--markdown FILE] [--jobs N]
[--timeout S] [--diagnose | --probes] [SUBSTRING ...]``; run as root.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

EXAMPLES = Path("/usr/share/systemtap/examples")
TIMEOUT = 60.0
JOBS = 3
LINGER = 2.0  # seconds a command's leftovers may hold its output open once it exits
PYSTAP = Path(sys.executable).parent / "pystap"

_ERROR = re.compile(r"^\s*(ERROR:|semantic error:|parse error:)")
# "...: identifier 'signal' at process/sig_by_proc.stp:20:7": where, not what
_WHERE = re.compile(r":\s+\S+(?: \S+)? '[^']*' at \S*:\d+:\d+\s*$")
_BOILERPLATE = "; it needs a compile server with SystemTap (--runtime=kernel or --runtime=bpf)"
_UNAVAILABLE = re.compile(r"probe point '([^']*)' is not available in the python runtime")


@dataclass(frozen=True)
class Example:
    name: str  # folder/script, e.g. process/sig_by_proc.stp (unique)
    folder: Path
    command: str
    script: Path | None  # the .stp file, when the meta names one


@dataclass
class Result:
    example: Example
    status: str  # "pass" or "fail"
    reason: str
    seconds: float
    returncode: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    diagnostics: list[str] = field(default_factory=list)  # --diagnose: pass-2 errors


def discover(root: Path = EXAMPLES) -> list[Example]:
    """Every ``test_installcheck:`` command of the examples under ``root``, by name."""
    found: list[tuple[Path, str, list[str]]] = []
    for meta in sorted(root.rglob("*.meta")):
        fields: dict[str, str] = {}
        commands: list[str] = []
        for line in meta.read_text(errors="replace").splitlines():
            key, sep, value = line.partition(":")
            if not sep:
                continue
            if key.strip() == "test_installcheck":
                if value.strip():
                    commands.append(value.strip())
            else:
                fields.setdefault(key.strip(), value.strip())
        if commands:
            found.append((meta, fields.get("name", "") or meta.stem + ".stp", commands))
    names = Counter(meta.parent / name for meta, name, _ in found)
    examples: list[Example] = []
    for meta, name, commands in found:
        folder = meta.parent
        rel = folder.relative_to(root)
        # two metas (py2example, py3example) name one script: use the metas' names
        base = f"{rel}/{name}" if names[folder / name] == 1 else f"{rel}/{meta.name}"
        script = folder / name if name.endswith(".stp") and (folder / name).is_file() else None
        for i, command in enumerate(commands):
            label = base if i == 0 else f"{base}#{i + 1}"
            examples.append(Example(label, folder, command, script))
    return sorted(examples, key=lambda e: e.name)


def expected_seconds(command: str) -> float:
    """A guess at how long a passing command runs (-T N, sleep N): longest start first."""
    guesses = [float(n) for n in re.findall(r"(?:-T\s*|sleep\s+|timeout=)(\d+)", command)]
    return max(guesses, default=1.0)


def reason_of(stderr: str) -> str:
    """The first error line of stderr, trimmed; past a bare "while resolving probe
    point" to the error that says why."""
    lines = [ln.strip() for ln in stderr.splitlines() if _ERROR.match(ln)]
    useful = [ln for ln in lines if "while resolving probe point" not in ln]
    if not lines:
        return ""
    return trim(useful[0] if useful else lines[0])


def trim(line: str, width: int = 200) -> str:
    line = _WHERE.sub("", line.strip()).replace(_BOILERPLATE, "")
    m = _UNAVAILABLE.search(line)
    if m:  # the family says the rest ("it probes kernel functions, which needs ...")
        line = line[: m.end()]
    return line if len(line) <= width else line[: width - 3] + "..."


def _shim(folder: Path, pystap: Path, diagnose: bool) -> None:
    stap = folder / "stap"
    if diagnose:
        target = f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))}"
        body = f'exec {target} --pass2-shim {shlex.quote(str(pystap))} "$@"\n'
    else:
        body = f'exec {shlex.quote(str(pystap))} "$@"\n'
    stap.write_text("#!/bin/sh\n" + body)
    stap.chmod(0o755)


def _kill_group(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM to the command's process group (stap ends its probes cleanly on it),
    SIGKILL to what is left after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()  # reap the leader, else the group lives on as a zombie
            try:
                os.killpg(proc.pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)


# Commands that would send traffic off this machine (tests stay on loopback and the
# namespaces they make): not run.
_OFF_HOST = re.compile(
    r"\b(ping6?|wget|curl|ssh|nc|dig|host)\s+[^|;&]*?[A-Za-z][\w-]*\.[A-Za-z]{2,}"
)


def run_one(example: Example, bindir: Path, timeout: float, diagnose: bool = False) -> Result:
    if _OFF_HOST.search(example.command):
        reason = "not run: its command reaches another host, and tests stay on this one"
        return Result(example, "fail", reason, 0.0, None)
    env = dict(os.environ)
    env["PATH"] = f"{bindir}:{env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
    env["SYSTEMTAP_DIR"] = str(bindir.parent / "systemtap")
    env.setdefault("LANG", "C.UTF-8")
    start = time.monotonic()
    proc = subprocess.Popen(
        ["sh", "-c", example.command],
        cwd=example.folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, killed as one
    )
    timed_out = False
    exited: float | None = None
    while True:
        try:
            out, err = proc.communicate(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            now = time.monotonic()
            if proc.poll() is not None and exited is None:
                exited = now  # gone, but what it started holds the pipes open
            if exited is not None and now - exited > LINGER:
                pass
            elif now - start > timeout:
                timed_out = proc.poll() is None
            else:
                continue
            _kill_group(proc)
            out, err = proc.communicate()
            break
    seconds = time.monotonic() - start
    _kill_group(proc)  # whatever the command left behind
    text = err.decode(errors="replace")
    if timed_out:
        status, reason = "fail", f"timeout after {timeout:g} s"
    elif proc.returncode == 0:
        # "stap ltrace.stp -c ls || echo PR14738" exits 0 whatever stap did: say so
        status, reason = "pass", ""
        if reason_of(text):
            reason = "exit 0, but: " + reason_of(text)
    else:
        status = "fail"
        reason = reason_of(text) or _fallback(proc.returncode, text)
    result = Result(example, status, reason, seconds, proc.returncode, out, err)
    if diagnose:
        result.diagnostics = [ln.strip() for ln in text.splitlines() if _ERROR.match(ln)]
    return result


def _fallback(returncode: int, stderr: str) -> str:
    said = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    if returncode < 0:
        return f"killed by signal {-returncode}"
    return f"exit status {returncode}" + (f": {trim(said[0])}" if said else "")


def run_all(
    examples: Sequence[Example],
    *,
    pystap: Path = PYSTAP,
    timeout: float = TIMEOUT,
    jobs: int = JOBS,
    diagnose: bool = False,
) -> list[Result]:
    """Run every example's command, ``jobs`` at once; results sorted by name.  Files
    the commands leave in the examples' folders (``-p4`` writes its module there) are
    removed and reported as ``stray``."""
    with tempfile.TemporaryDirectory(prefix="stap-examples-") as tmp:
        bindir = Path(tmp) / "bin"
        bindir.mkdir()
        _shim(bindir, pystap, diagnose)
        folders = sorted({e.folder for e in examples})
        before = {f: set(_files(f)) for f in folders}
        order = sorted(examples, key=lambda e: -expected_seconds(e.command))
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(lambda e: run_one(e, bindir, timeout, diagnose), order))
        for folder in folders:
            for stray in sorted(set(_files(folder)) - before[folder]):
                print(f"examples: removing stray file {stray}", file=sys.stderr)
                stray.unlink(missing_ok=True)
    return sorted(results, key=lambda r: r.example.name)


def _files(folder: Path) -> Iterable[Path]:
    return (p for p in folder.rglob("*") if p.is_file() or p.is_symlink())


# --- the table ---------------------------------------------------------------------


def summary(results: Sequence[Result]) -> str:
    passed = sum(r.status == "pass" for r in results)
    hollow = sum(r.status == "pass" and bool(r.reason) for r in results)
    busy = sum(r.seconds for r in results)
    but = f", {hollow} of them with an error in stderr" if hollow else ""
    return f"{passed} of {len(results)} pass{but} ({busy:.0f} s of commands)"


def render_text(results: Sequence[Result]) -> str:
    width = max((len(r.example.name) for r in results), default=7)
    lines = [f"{'example':<{width}}  status  seconds  reason"]
    for r in results:
        lines.append(f"{r.example.name:<{width}}  {r.status:<6}  {r.seconds:7.1f}  {r.reason}")
    lines.append("")
    lines.append(summary(results))
    return "\n".join(lines) + "\n"


def render_markdown(results: Sequence[Result], header: str = "") -> str:
    lines = [header.rstrip(), ""] if header else []
    lines += ["| example | status | reason | seconds |", "|---|---|---|---|"]
    for r in results:
        reason = r.reason.replace("|", "\\|").replace("`", "'")
        lines.append(f"| `{r.example.name}` | {r.status} | {reason} | {r.seconds:.1f} |")
    lines += ["", summary(results) + "."]
    return "\n".join(lines) + "\n"


def group_reasons(results: Sequence[Result]) -> list[tuple[str, list[str]]]:
    """Failing examples by reason, most common first."""
    groups: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if r.status != "pass":
            groups[r.reason].append(r.example.name)
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


# --- probe points ------------------------------------------------------------------

_COMMENT_OR_STRING = re.compile(r'"(?:\\.|[^"\\])*"|/\*.*?\*/|//[^\n]*|(?<![$@])#[^\n]*', re.S)
# %( CONDITION %? THEN %: ELSE %) in a probe point: THEN (not nested)
_CONDITIONAL = re.compile(r"%\((?:(?!%\().)*?%\?\s*(.*?)\s*(?:%:(?:(?!%\().)*?)?%\)", re.S)
_PROBE = re.compile(r"\bprobe\s+")


def probe_points(text: str) -> tuple[list[str], set[str]]:
    """The probe points a script's ``probe`` statements name, and the aliases it
    defines (``probe name = point, ... {``: the points count, the name does not)."""

    # comments out; strings kept where the points are read (kernel.function("*@fs/*.c"))
    # and blanked where statements are looked for
    def blank(m: re.Match[str]) -> str:
        s = m.group(0)
        return '"' + "_" * (len(s) - 2) + '"' if s.startswith('"') else " " * len(s)

    def keep(m: re.Match[str]) -> str:
        s = m.group(0)
        return s if s.startswith('"') else " " * len(s)

    plain = _COMMENT_OR_STRING.sub(blank, text)
    clean = _COMMENT_OR_STRING.sub(keep, text)
    points: list[str] = []
    aliases: set[str] = set()
    depth = 0
    i = 0
    while i < len(plain):
        m = _PROBE.match(plain, i) if depth == 0 else None
        if m and (i == 0 or not (plain[i - 1].isalnum() or plain[i - 1] in "_$@")):
            end = _body_start(plain, m.end())
            head = _CONDITIONAL.sub(r"\1", " ".join(clean[m.end() : end].split()))
            alias, sep, rest = _split_alias(head)
            if sep:
                aliases.update(a.strip() for a in alias.split(","))
                head = rest
            for point in _split_top(head):
                points += [p for p in expand(point.replace(" ", "")) if p not in points]
            i = end
            continue
        depth += plain[i] == "{"
        depth -= plain[i] == "}"
        i += 1
    return points, aliases


def _body_start(plain: str, i: int) -> int:
    """Where the body of a probe whose point starts at ``i`` opens (strings blanked);
    a brace after a dot or a comma opens a set (``kernel.{function("a"),function("b")}``)."""
    depth = braces = 0
    last = ""
    while i < len(plain):
        c = plain[i]
        depth += c == "("
        depth -= c == ")"
        if c == "{" and depth <= 0:
            if last not in (".", ",", "{") and braces == 0:
                return i
            braces += 1
        elif c == "}" and braces:
            braces -= 1
        if not c.isspace():
            last = c
        i += 1
    return i


def expand(point: str) -> list[str]:
    """``syscall.{open,close}.return`` -> ``syscall.open.return``, ``syscall.close.return``."""
    start = depth = 0
    in_string = False
    for i, c in enumerate(point):
        if c == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                head, tail = point[:start], point[i + 1 :]
                choices = _split_top(point[start + 1 : i])
                return [x for ch in choices for x in expand(head + ch + tail)]
    return [point]


def _split_alias(head: str) -> tuple[str, str, str]:
    depth = 0
    for i, c in enumerate(head):
        depth += c == "("
        depth -= c == ")"
        if depth == 0 and c == "=" and head[i - 1 : i] not in ("!", "<", ">", "="):
            if head[i + 1 : i + 2] == "=":
                return head, "", ""
            return head[:i].rstrip("+ "), "=", head[i + 1 :]
    return head, "", ""


def _split_top(head: str, sep: str = ",") -> list[str]:
    """``head`` split at ``sep`` outside strings and parentheses."""
    parts: list[str] = []
    cur: list[str] = []
    depth, in_string = 0, False
    for c in head:
        if c == '"':
            in_string = not in_string
        elif not in_string:
            depth += c in "({"
            depth -= c in ")}"
            if c == sep and depth == 0:
                parts.append("".join(cur).strip())
                cur = []
                continue
        cur.append(c)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def family(point: str) -> str:
    """``syscall.open`` -> ``syscall``; ``kernel.function("x")`` -> ``kernel.function``;
    ``process("/bin/ls").function("main")`` -> ``process.function``."""
    point = point.rstrip("?! ")
    parts = [re.sub(r"\(.*", "", p) for p in _split_top(point, ".")]
    if parts and parts[0] in ("kernel", "module", "process", "python", "python2", "python3"):
        return ".".join(parts[:2])
    return parts[0] if parts else point


def script_needs(example: Example) -> list[str]:
    """The probe points an example's scripts name (its .stp and the tapset folder its
    command adds with -I), aliases they define left out, ``$1``/``@1`` replaced by the
    command's arguments."""
    if example.script is None:
        return []
    texts = [example.script.read_text(errors="replace")]
    for inc in re.findall(r"-I\s*(\S+)", example.command):
        folder = example.folder / inc
        texts += [p.read_text(errors="replace") for p in sorted(folder.glob("*.stp"))]
    points: list[str] = []
    aliases: set[str] = set()
    for text in texts:
        named, defined = probe_points(text)
        points += [x for x in named if x not in points]
        aliases |= defined
    args = script_args(example.command, example.script.name)

    def arg(m: re.Match[str]) -> str:
        n = int(m.group(2))
        if n > len(args):
            return m.group(0)
        return args[n - 1] if m.group(1) == "$" else f'"{args[n - 1]}"'

    out: list[str] = []
    for point in points:
        if any(_under(point, a) for a in aliases):
            continue
        point = re.sub(r"([$@])(\d+)", arg, point).replace('""', "")
        if point not in out and not re.fullmatch(r"[$@]\d+(\.\w+)*", point):
            out.append(point)
    return out


_WITH_VALUE = {"-T", "-c", "-x", "-o", "-d", "-G", "-D", "-I", "-p", "-S", "-s", "-r", "-m", "-R"}


def script_args(command: str, script: str) -> list[str]:
    """The script's arguments in a stap command line (``stap errsnoop.stp 1 10 -T 1``:
    ``1``, ``10``)."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return []
    if script not in words:
        return []
    args: list[str] = []
    words = words[words.index(script) + 1 :]
    i = 0
    while i < len(words):
        w = words[i]
        if w and all(c in "|&;<>()" for c in w):
            break
        if w.startswith("-") and len(w) > 1:
            i += 2 if w in _WITH_VALUE else 1
            continue
        args.append(w)
        i += 1
    return args


def _under(point: str, alias: str) -> bool:
    point = point.rstrip("?! ")
    return point == alias or point.startswith(alias + ".")


# --- --diagnose: every pass-2 diagnostic -------------------------------------------

# stap options that take a value and only matter when a script runs
_RUN_ONLY_WITH_VALUE = {"-T", "-c", "-x", "-o", "-d", "-S", "-s", "-p", "-b", "-B"}
_RUN_ONLY_FLAGS = {"--all-modules", "--ldd", "--suppress-time-limits", "--skip-badvars",
                   "--benchmark-sdt", "--dump-functions", "-V", "-F", "-t"}  # fmt: skip


def pass2_argv(argv: Sequence[str]) -> list[str]:
    """A stap command line cut to what elaborates the script, then ``-p2 -v``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _RUN_ONLY_WITH_VALUE:
            i += 2
            continue
        if a[:2] in _RUN_ONLY_WITH_VALUE and len(a) > 2 and not a.startswith("--"):
            i += 1
            continue
        if a in _RUN_ONLY_FLAGS:
            i += 1
            continue
        out.append(a)
        i += 1
    return ["-p2", "-v", *out]


def _pass2_shim(pystap: str, argv: list[str]) -> None:
    if not any(a.endswith(".stp") or a in ("-e", "-") for a in argv):
        raise SystemExit(0)  # "stap -V", "stap --benchmark-sdt" inside -c: nothing to see
    os.execv(pystap, [pystap, *pass2_argv(argv)])


def only_probe_points(diagnostics: Sequence[str]) -> bool:
    errors = [d for d in diagnostics if "while resolving probe point" not in d]
    return bool(errors) and all(_UNAVAILABLE.search(d) for d in errors)


def diagnose_report(runs: Sequence[Result], checks: Sequence[Result]) -> str:
    """What the pass-2 runs of the failing examples found: each example failing on
    probe points alone with its probe points; families ranked by what they unlock."""
    lines: list[str] = []
    by_name = {c.example.name: c for c in checks}
    probe_only: dict[str, list[str]] = {}
    other: dict[str, list[str]] = defaultdict(list)
    for r in runs:
        c = by_name.get(r.example.name)
        if r.status == "pass" or c is None:
            continue
        if only_probe_points(c.diagnostics):
            found = (_UNAVAILABLE.search(d) for d in c.diagnostics)
            probe_only[r.example.name] = sorted({m.group(1) for m in found if m})
        else:
            rest = [d for d in c.diagnostics if not _UNAVAILABLE.search(d)]
            rest = [d for d in rest if "while resolving probe point" not in d]
            if rest:
                why = trim(rest[0])
            elif c.status == "pass":
                why = "pass 2 succeeds (fails on: " + r.reason + ")"
            else:
                why = c.reason
            other[why].append(r.example.name)
    lines.append(f"Examples failing at pass 2 on probe points alone: {len(probe_only)}")
    need: dict[str, set[str]] = {}
    for name, missing in sorted(probe_only.items()):
        fams = sorted({family(p) for p in missing})
        need[name] = set(fams)
        lines.append(f"  {name}: {', '.join(missing)}   [{', '.join(fams)}]")
    lines.append("")
    lines.append("Probe families (examples needing it / examples it alone unlocks):")
    every = Counter(f for fams in need.values() for f in fams)
    alone = Counter(next(iter(fams)) for fams in need.values() if len(fams) == 1)
    for fam, n in sorted(every.items(), key=lambda kv: (-alone[kv[0]], -kv[1], kv[0])):
        lines.append(f"  {fam}: {n} / {alone[fam]}")
    lines.append("")
    lines.append("Other failing examples, by first pass-2 diagnostic other than probe points:")
    for why, names in sorted(other.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"  {len(names):3d}  {why}: {', '.join(names)}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--pass2-shim"]:
        _pass2_shim(args[1], args[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("only", nargs="*", help="run examples whose name contains one of these")
    parser.add_argument("--write", metavar="FILE", type=Path, help="write the table here")
    parser.add_argument("--markdown", metavar="FILE", type=Path, help="the table as markdown")
    parser.add_argument("--jobs", type=int, default=JOBS)
    parser.add_argument("--timeout", type=float, default=TIMEOUT)
    parser.add_argument("--pystap", type=Path, default=PYSTAP)
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="run the failing examples' scripts to pass 2; list the probe points they need",
    )
    parser.add_argument(
        "--probes", action="store_true", help="only list each example's probe points"
    )
    opts = parser.parse_args(args)
    examples = [e for e in discover() if not opts.only or any(s in e.name for s in opts.only)]
    if opts.probes:
        for e in examples:
            print(f"{e.name}: {', '.join(script_needs(e))}")
        return 0
    start = time.monotonic()
    results = run_all(examples, pystap=opts.pystap, timeout=opts.timeout, jobs=opts.jobs)
    table = render_text(results)
    sys.stdout.write(table)
    print(f"wall time {time.monotonic() - start:.0f} s, {opts.jobs} at once")
    print()
    print("Failing examples by reason:")
    for reason, names in group_reasons(results):
        print(f"  {len(names):3d}  {reason}")
    if opts.write:
        opts.write.write_text(table)
    if opts.markdown:
        header = f"Produced by `python -m tests.e2e.examples --markdown {opts.markdown}`."
        opts.markdown.write_text(render_markdown(results, header))
    if opts.diagnose:
        failing = [r.example for r in results if r.status != "pass"]
        checks = run_all(failing, pystap=opts.pystap, timeout=opts.timeout, jobs=opts.jobs,
                         diagnose=True)  # fmt: skip
        print()
        sys.stdout.write(diagnose_report(results, checks))
    return 0


if __name__ == "__main__":
    sys.exit(main())

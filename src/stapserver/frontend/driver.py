"""The python-runtime front end: passes 1–5 of a stap command line.

``pystap`` runs all five passes here; the compile server runs passes 1–4 for a client
(pass 5 happens on the client, with the module it receives).  What each pass prints when
it is the last one, and the ``-v`` lines, follow stap.
"""

from __future__ import annotations

import hashlib
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .. import SYSTEMTAP_VERSION, __version__
from ..errors import (
    InputError,
    ParseError,
    SemanticError,
    StapError,
    TranslateError,
    UsageError,
)
from ..files import write_atomic
from ..hostinfo import normalized_arch
from ..runtime import loader
from ..runtime.engine import RunOptions, TextOut, run_module_to
from ..translator import ast, library
from ..translator.codegen import Settings, generate
from ..translator.parser import PreprocessorContext, parse
from ..translator.semantic import Program, elaborate
from ..translator.source import DiagnosticPrinter, Source
from ..translator.unparse import script_text
from .options import LIMIT_NAMES, Options, parse_options, read_script_file, read_stdin

USAGE = """\
Usage: pystap [options] FILE [ARGS ...]        run script in file
   or: pystap [options] -                      run script on stdin
   or: pystap [options] -e SCRIPT [ARGS ...]   run given script

The python runtime of stapserver: SystemTap's passes 1-5 in this process, for the
portable core of the language (begin, end, error, never and timer probes).

Options:
   --         end of translator options, script options follow
   -h --help  show help
   -V         show version
   -p NUM     stop after pass NUM 1-5: 1 parse, 2 elaborate, 3 translate (print the
              Python source), 4 build (write the module file), 5 run
   -v         add verbosity to all passes
   -e SCRIPT  run given script
   -I DIR     look in DIR for additional .stp script files
   -D NM=VAL  set a limit: MAXACTION, MAXACTION_INTERRUPTIBLE, MAXMAPENTRIES,
              MAXSTRINGLEN, MAXNESTING, MAXERRORS
   -G VAR=VAL set global variable to value
   -m MODULE  set the module name (the module file is left in the current directory)
   -o FILE    send script output to file
   -c CMD     start the probes, run CMD, and exit when it finishes (target() is its PID)
   -x PID     sets target() to PID
   -r RELEASE the kernel release %( kernel_v %) conditions test
   -g         guru mode (embedded C stays refused by the python runtime)
   -w         suppress warnings
   --runtime=python
              the only runtime this front end has; kernel and bpf modules need a
              compile server with SystemTap (stap-client)
   --privilege=stapusr|stapsys|stapdev
   --compatible=VERSION
"""


@dataclass
class PassTimer:
    """The ``using ...virt/...res/...shr/...data kb, in ...usr/...sys/...real ms.`` of -v."""

    start_cpu: tuple[float, float] = field(default_factory=lambda: _cpu())
    start_real: float = field(default_factory=time.perf_counter)

    def times(self) -> str:
        u0, s0 = self.start_cpu
        u1, s1 = _cpu()
        real = time.perf_counter() - self.start_real
        return (
            f"in {int((u1 - u0) * 1000)}usr/{int((s1 - s0) * 1000)}sys/{int(real * 1000)}real ms."
        )

    def memory(self) -> str:
        return f"using {memory_usage()}, "


def _cpu() -> tuple[float, float]:
    t = os.times()
    return t.user + t.children_user, t.system + t.children_system


def memory_usage() -> str:
    page = resource.getpagesize() // 1024
    try:
        fields = Path("/proc/self/statm").read_text().split()
        vsz, rss, shr, data = (int(fields[i]) * page for i in (0, 1, 2, 5))
    except (OSError, ValueError, IndexError):
        vsz = rss = shr = data = 0
    return f"{vsz}virt/{rss}res/{shr}shr/{data}data kb"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def kernel_config(release: str) -> dict[str, str]:
    """The CONFIG_ values of the kernel ``release``, where its config file is readable."""
    for path in (f"/lib/modules/{release}/build/.config", f"/boot/config-{release}"):
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            continue
        config = {}
        for line in text.splitlines():
            if line.startswith("CONFIG_") and "=" in line:
                key, _, value = line.partition("=")
                config[key] = value.strip('"')
        return config
    return {}


def version_text() -> str:
    return (
        f"stapserver python runtime {__version__} "
        f"(SystemTap {SYSTEMTAP_VERSION} language, runtime python)\n"
        "Copyright (C) the stapserver authors\n"
        "This is free software; see the source for copying conditions.\n"
        "enabled features: PYTHON_RUNTIME\n"
    )


def settings_from(options: Options) -> Settings:
    settings = Settings()
    for key, value in options.defines:
        if key in LIMIT_NAMES:
            try:
                number = int(value, 0)
            except ValueError:
                raise UsageError(
                    f"Invalid value '{value}' for -D {key}: expected a number."
                ) from None
            if hasattr(settings, key):
                setattr(settings, key, number)
        settings.extra[key] = value
    if settings.MAXSTRINGLEN < 2:
        raise UsageError("MAXSTRINGLEN must be at least 2.")
    return settings


def module_name_for(
    script: str,
    options: Options,
    settings: Settings,
    target: tuple[str, str],
    libraries: list[str],
) -> str:
    """``stap_`` and a digest of everything that shapes the module (the script, its
    arguments, the settings, the target, the text of every -I file): the same script and
    options give the same name, here or on a compile server."""
    h = hashlib.sha256()
    for part in (
        __version__,
        script,
        "\0".join(options.args),
        repr(sorted(settings.extra.items())),
        repr(sorted(options.globals)),
        options.privilege,
        options.compatible or "",
        *target,
        *libraries,
    ):
        h.update(part.encode("utf-8", "surrogateescape") + b"\1")
    return "stap_" + h.hexdigest()[:32]


class FrontEnd:
    """One stap invocation of the python runtime."""

    def __init__(
        self,
        options: Options,
        *,
        stdin: IO[bytes] | None = None,
        stdout: IO[bytes] | None = None,
        stderr: TextOut | None = None,
        cwd: str | None = None,
        module_dir: Path | None = None,
    ) -> None:
        self.o = options
        self.module_dir = module_dir
        self.library_texts: list[str] = []
        self.stdin = stdin if stdin is not None else sys.stdin.buffer
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        self.stderr = stderr if stderr is not None else sys.stderr
        self.cwd = Path(cwd or os.getcwd())
        self.diag = DiagnosticPrinter(
            options.verbose, emit=self._emit, suppress_warnings=options.suppress_warnings
        )
        self.release = options.kernel_release or os.uname().release
        self.arch = options.arch or normalized_arch()

    def _emit(self, text: str) -> None:
        self.stderr.write(text)
        self.stderr.flush()

    def log(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def write_out(self, text: str) -> None:
        self.stdout.write(text.encode("utf-8", "surrogateescape"))
        self.stdout.flush()

    # ------------------------------------------------------------------ passes
    def read_script(self) -> Source:
        o = self.o
        if o.script_text is not None:
            return Source("<input>", o.script_text)
        assert o.script_file is not None
        if o.script_file == "-":
            data = read_stdin(self.stdin)
            return Source("<input>", data.decode("utf-8", "surrogateescape"))
        data = read_script_file(self.cwd / o.script_file, o.script_file)
        return Source(o.script_file, data.decode("utf-8", "surrogateescape"))

    def preprocessor(self) -> PreprocessorContext:
        o = self.o
        return PreprocessorContext(
            kernel_release=self.release,
            arch=self.arch,
            runtime="python",
            systemtap_v=o.compatible or SYSTEMTAP_VERSION,
            privilege=o.privilege,
            guru_mode=o.guru,
            kernel_config=kernel_config(self.release),
        )

    def library(
        self, ctx: PreprocessorContext, script: ast.ScriptFile
    ) -> tuple[ast.ScriptFile, list[ast.ScriptFile]]:
        """The runtime's own tapset (the aliases ``script`` and the -I files may use),
        and the .stp files of every -I directory."""
        extra: list[ast.ScriptFile] = []
        for d in self.o.include:
            base = self.cwd / d
            if not base.is_dir():
                raise InputError(f"Cannot read tapset directory '{d}': not a directory.")
            for path in sorted(base.glob("*.stp")):
                try:
                    text = path.read_bytes().decode("utf-8", "surrogateescape")
                except OSError as err:
                    raise InputError(
                        f"Input file '{path}' can't be opened: {err.strerror}."
                    ) from None
                self.library_texts.append(text)
                extra.append(
                    parse(
                        Source(str(Path(d) / path.name), text),
                        (),
                        ctx,
                        privileged=self.o.guru,
                        diagnostics=self.diag,
                    )
                )
        runtime = library.aliases(ctx, self.diag, [script, *extra])
        return runtime, extra

    def run(self) -> int:
        try:
            return self._run()
        except (ParseError, SemanticError, TranslateError) as err:
            note = self.diag.closing_note()
            if note:
                raise type(err)(str(err).rstrip("\n") + "\n" + note) from None
            raise

    def _run(self) -> int:
        o = self.o
        if o.help:
            self.write_out(USAGE)
            return 0
        if o.version:
            self.write_out(version_text())
            return 0
        if o.unsupported:
            raise UsageError(f"option {o.unsupported[0]} is not supported by the python runtime")
        if o.runtime not in (None, "python"):
            raise UsageError(
                f"--runtime={o.runtime} needs SystemTap: run the script with stap-client "
                "against a compile server that has it"
            )
        if not o.has_script:
            raise UsageError("A script must be specified.")
        settings = settings_from(o)

        # pass 1
        timer = PassTimer()
        source = self.read_script()
        ctx = self.preprocessor()
        script = parse(
            source,
            o.args,
            ctx,
            privileged=o.guru,
            diagnostics=self.diag,
            library_macros=library.macros(ctx),
        )
        runtime_lib, extra = self.library(ctx, script)
        argv_lib = library.argv_tapset(script, o.args, ctx, self.diag)
        if argv_lib is not None:
            extra.append(argv_lib)
        if extra:
            _merge_library(script, extra)
        if o.verbose:
            nlib = 1 + len(extra)
            self.log(
                f"Pass 1: parsed user script and {nlib} library script"
                f"{'' if nlib == 1 else 's'} {timer.memory()}{timer.times()}"
            )
        if o.last_pass == 1:
            self.write_out(script_text(script))
            return 0

        # pass 2
        timer = PassTimer()
        hz = _hz(self.release)
        # stap's last word of pass 2, even when it fails
        unused = "".join(
            self.diag.warning(f"unused command line option ${n}/@{n}", None)
            for n in script.unused_args
            if not o.suppress_warnings
        )
        try:
            program = elaborate(
                script,
                hz=hz,
                diagnostics=self.diag,
                library=runtime_lib,
                global_display=not o.no_global_display,
                elide=not o.list_variables,
            )
        except SemanticError as err:
            errors, sep, last = err.message.rpartition("Pass 2: ")
            raise SemanticError(f"{errors}{unused}{sep}{last}") from None
        self._emit(unused)
        self._apply_global_settings(program)
        if o.verbose:
            nprobes = len(program.probes)
            self.log(
                "Pass 2: analyzed script: "
                f"{_plural(nprobes, 'probe')}, {_plural(len(program.functions), 'function')}, "
                f"0 embeds, {_plural(len(program.globals), 'global')} "
                f"{timer.memory()}{timer.times()}"
            )
        if o.list_probes is not None:
            self.write_out(probe_listing(program, o.list_variables))
            return 0
        if o.last_pass == 2:
            self.write_out(pass2_listing(program, verbose=o.verbose > 0))
            return 0

        # pass 3
        timer = PassTimer()
        name = o.module_name or module_name_for(
            source.text, o, settings, (self.release, self.arch), self.library_texts
        )
        code = generate(program, settings, name, self.diag)
        module_file = name + ".py"
        if o.verbose:
            self.log(
                f'Pass 3: translated to Python into "{module_file}" {timer.memory()}{timer.times()}'
            )
        if o.last_pass == 3:
            self.write_out(code)
            return 0

        # pass 4
        timer = PassTimer()
        compiled = loader.compile_source(code, module_file)  # what does not compile stops here
        if o.last_pass == 4 or o.module_name:
            write_module((self.module_dir or self.cwd) / module_file, code)
        if o.verbose:
            self.log(f'Pass 4: compiled Python into "{module_file}" {timer.times()}')
        if o.last_pass == 4:
            self.write_out(module_file + "\n")
            return 0

        # pass 5
        return self.run_pass5(loader.load_compiled(compiled, module_file))

    def run_pass5(self, module: object) -> int:
        o = self.o
        timer = PassTimer()
        if o.verbose:
            self.log("Pass 5: starting run.")
        options = RunOptions(
            target=o.target_pid or 0,
            command=o.command,
            verbose=o.verbose,
            suppress_warnings=o.suppress_warnings,
            timeout=o.timeout,
            buffer_mb=o.buffer_mb,
            suppress_handler_errors=o.suppress_handler_errors,
        )
        output = None if o.output is None else str(self.cwd / o.output)
        rc = run_module_to(module, options, output, o.output or "", self.stdout, self.stderr)
        if o.verbose:
            self.log(f"Pass 5: run completed {timer.times()}")
        if rc:
            self.log("Pass 5: run failed.  [man error::pass5]")
        return rc

    def _apply_global_settings(self, program: Program) -> None:
        """-G NAME=VALUE: a global's initial value, as stap sets a module parameter."""
        for name, value in self.o.globals:
            decl = next((g for g in program.script.globals if g.name == name), None)
            if decl is None or decl.arity > 0 or decl.type not in (ast.LONG, ast.STRING):
                raise UsageError(f"-G {name}: no scalar global '{name}' in the script.")
            tok = decl.tok
            if decl.type == ast.LONG:
                try:
                    decl.init = ast.NumberLit(tok, int(value, 0))
                except ValueError:
                    raise UsageError(f"-G {name}={value}: not a number.") from None
            else:
                decl.init = ast.StringLit(tok, value.encode("utf-8", "surrogateescape"))
            if decl not in program.globals:
                program.globals.append(decl)


def _merge_library(script: ast.ScriptFile, extra: list[ast.ScriptFile]) -> None:
    """-I files: their functions, aliases and globals become visible to the script (their
    probes run too, as tapset probes do)."""
    names = {f.name for f in script.functions}
    gnames = {g.name for g in script.globals}
    for lib in extra:
        script.aliases.extend(lib.aliases)
        script.probes.extend(lib.probes)
        script.functions.extend(f for f in lib.functions if f.name not in names)
        script.globals.extend(g for g in lib.globals if g.name not in gnames)


def _hz(release: str) -> int:
    try:
        return int(kernel_config(release).get("CONFIG_HZ", "250"))
    except ValueError:
        return 250


def write_module(path: Path, code: str) -> None:
    """Write the module file atomically: a reader sees the old file or the new one."""
    try:
        write_atomic(path, code.encode("utf-8", "surrogateescape"))
    except OSError as err:
        raise InputError(f"Cannot write module file '{path}': {err.strerror}.") from None


def probe_listing(program: Program, variables: bool) -> str:
    """What ``-l`` prints (each probe point, as the script names it: an alias's name, or a
    resolved point) and ``-L`` adds (each variable the handler can read, with its type:
    the alias's locals, then an event's fields)."""
    lines: set[str] = set()
    for p in program.probes:
        point = p.alias_name or p.spec.text
        if not variables:
            lines.add(point)
            continue
        words = [point]
        for name, decl in program.body_locals.get(id(p.body), {}).items():
            words.append(f"{name}:{decl.type if decl.type != 'unknown' else 'long'}")
        if p.spec.event is not None:
            for f in p.spec.event.fields:
                if f.kind != "array":
                    words.append(f"${f.name}:{'string' if f.kind == 'string' else 'long'}")
        lines.add(" ".join(words))
    return "".join(line + "\n" for line in sorted(lines))


def pass2_listing(program: Program, verbose: bool = False) -> str:
    """What ``-p2`` prints: the resolved globals, functions and probes, as stap lists them."""
    from ..translator.unparse import block_lines

    lines: list[str] = []
    if program.globals:
        lines.append("# globals")
        for g in program.globals:
            # stap's vardecl::printsig: name, % for wrap, [N] for a maximum size, :type
            wrap = "%" if g.wrap else ""
            size = f"[{g.maxsize}]" if g.maxsize else ""
            index = f" [{', '.join(g.index_types)}]" if g.index_types else ""
            lines.append(f"{g.name}{wrap}{size}:{g.type}{index}")
    if program.functions:
        lines.append("# functions")
        for f in program.functions:
            params = ", ".join(f"{p.name}:{f.locals[p.name].type}" for p in f.params)
            lines.append(f"{f.name}:{f.type} ({params})")
            if verbose and isinstance(f.body, ast.Block):
                lines.extend(block_lines(f.body))
    lines.append("# probes")
    for p in program.probes:
        lines.append(f"{p.spec.text} /* <- {p.origin} */")
        body_locals = list(program.body_locals.get(id(p.body), {}).values())
        if body_locals:
            lines.append("  # locals")
            for d in body_locals:
                lines.append(f"  {d.name}:{d.type}")
        if verbose:
            lines.extend(block_lines(p.body))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Run a stap command line with the python runtime; errors raise StapError."""
    return FrontEnd(parse_options(argv)).run()


__all__ = ["FrontEnd", "StapError", "main", "pass2_listing"]

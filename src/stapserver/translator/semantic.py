"""Pass 2: from a parse tree to a checked program.

What stap's elaboration does, for what the python runtime can run: probe points resolved
(aliases expanded), symbols bound to globals, locals and functions, ``@defined`` folded,
types inferred over long, string and statistics, and every misuse reported with stap's
wording.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..errors import SemanticError
from . import ast, deep
from .ast import LONG, STATS, STRING, UNKNOWN
from .builtins import BUILTINS, lookup
from .fold import FoldError, defined_targets, fold, fold_stmt
from .library import TAPSET_NAME
from .parser import parse
from .probes import TOP_LEVEL, PointSpec, ProbeError, resolve_builtin
from .source import DiagnosticPrinter, Source, Token
from .tracepoints import TraceEvent, TraceField

# Probes whose handler gets an event from the kernel (its own body: see _derive_all)
EVENT_KINDS = ("trace", "perf")

# dwarfless.stp's functions of a syscall's arguments, and the conversion each makes
ARG_FUNCTIONS = {
    "int_arg": "__int32",
    "uint_arg": "__uint32",
    "s32_arg": "__int32",
    "u32_arg": "__uint32",
    "long_arg": "__long",
    "ulong_arg": "__long",
    "longlong_arg": "__long",
    "ulonglong_arg": "__long",
    "s64_arg": "__long",
    "u64_arg": "__long",
    "pointer_arg": "__long",
}

# task.stp's functions that the record of a sched tracepoint answers for its tasks
TASK_FIELD_FUNCTIONS = {
    "task_execname": "comm",
    "task_pid": "pid",
    "task_tid": "pid",
    "task_cpu": "orig_cpu",  # sched_migrate_task: the cpu it is on, before the move
}

# The context names a kernel.trace handler may read besides the event's fields.
TRACE_CONTEXT = ("$$name", "$$parms", "$$vars")


@dataclass(eq=False)
class DerivedProbe:
    spec: PointSpec
    origin: str  # the probe point as written, before alias expansion
    tok: Token
    body: ast.Block
    condition: ast.Expr | None
    alias_name: str | None = None  # the alias the point matched (what -l lists)


@dataclass(eq=False)
class Program:
    script: ast.ScriptFile
    probes: list[DerivedProbe]
    functions: list[ast.FunctionDecl]
    globals: list[ast.VarDecl]
    # locals of each probe body (keyed by id of the Block)
    body_locals: dict[int, dict[str, ast.VarDecl]]
    # kernel.trace probes: the event fields each body reads, in the event's order
    body_fields: dict[int, list[TraceField]] = dataclasses.field(default_factory=dict)
    entry_slots: int = 0  # @entry values of syscall return probes (ast.EntrySave)
    warnings: str = ""
    library_scripts: int = 1


@dataclass
class _Scope:
    locals: dict[str, ast.VarDecl]
    function: ast.FunctionDecl | None = None


class _Stop(Exception):
    pass


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _similar(name: str, candidates: Iterable[str], limit: int = 5) -> str:
    """stap's levenshtein_suggest: the ``limit`` nearest names, nearest first (ties in
    name order), as the `` (similar: …)`` stap appends to a message."""
    ranked = sorted((levenshtein(name, c), c) for c in set(candidates) if c)
    close = [c for _, c in ranked[:limit]]
    return f" (similar: {', '.join(close)})" if close else ""


class Elaborator:
    def __init__(
        self,
        script: ast.ScriptFile,
        *,
        hz: int = 250,
        diagnostics: DiagnosticPrinter | None = None,
        library: ast.ScriptFile | None = None,
        global_display: bool = True,
        elide: bool = True,
    ) -> None:
        self.script = script
        self.elide = elide  # drop the kernel tapset's locals no handler reads
        self.hz = hz
        self.global_display = global_display
        self.diag = diagnostics or DiagnosticPrinter()
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.error_count = 0
        self.globals: dict[str, ast.VarDecl] = {g.name: g for g in script.globals}
        self.functions: dict[str, list[ast.FunctionDecl]] = {}
        for f in script.functions:
            self.functions.setdefault(f.name, []).append(f)
        self.aliases: list[ast.ProbeAlias] = list(script.aliases)
        if library is not None:
            self.aliases.extend(library.aliases)
        self.body_locals: dict[int, dict[str, ast.VarDecl]] = {}
        self.used_functions: list[ast.FunctionDecl] = []
        self._function_seen: set[int] = set()
        self._changed = False
        # decl -> token where its type was first inferred
        self._type_tok: dict[int, Token] = {}
        self._index_tok: dict[tuple[int, int], Token] = {}
        self._arity_tok: dict[int, Token] = {}
        self._printed_toks: set[int] = set()
        self._spec: PointSpec | None = None  # the probe whose body is being resolved
        self._body: ast.Block | None = None
        self.entry_slots = 0  # @entry values saved by entry probes
        self.body_fields: dict[int, list[TraceField]] = {}

    # ------------------------------------------------------------------ errors
    def _check_regex(self, pattern: ast.StringLit) -> None:
        """A regex stap's compiler would refuse is a semantic error here, as with stap
        (the runtime compiles it with Python's ``re``, which must never fail later)."""
        import re

        from ..runtime.ops import compile_regex

        try:
            compile_regex(pattern.value)
        except re.error as err:
            message = f"regex compilation error (at position {err.pos or 0}): {err.msg}"
            self.error(message, pattern.tok)

    def error(
        self,
        message: str,
        *toks: Token,
        kind: str | None = None,
        chain: tuple[tuple[str, tuple[Token, ...]], ...] = (),
    ) -> None:
        text = self.diag.semantic_error(message, *toks, kind=kind, chain=chain)
        self.error_count += 1
        if text:
            self.errors.append(text)

    def warn(self, message: str, tok: Token | None) -> None:
        self.diag.warn(message, tok)

    def _fail_if_errors(self) -> None:
        if self.error_count:
            raise SemanticError(
                "".join(self.errors) + "Pass 2: analysis failed.  [man error::pass2]"
            )

    # ------------------------------------------------------------------ entry point
    def run(self) -> Program:
        probes = self._derive_all()
        self._fail_if_errors()
        if not probes:
            self.error("no probes found")
            self._fail_if_errors()
        bodies: list[tuple[ast.Block, list[ast.Expr]]] = []
        seen: set[int] = set()
        for p in probes:
            if id(p.body) not in seen:
                seen.add(id(p.body))
                bodies.append((p.body, []))
        # stap folds constants (and @defined) before it resolves symbols and types
        spec_of = {id(p.body): p.spec for p in probes if p.spec.kind == "trace"}
        try:
            for body, _ in bodies:
                spec = spec_of.get(id(body))
                defined_targets(None if spec is None else _target_names(spec))
                try:
                    fold_stmt(body)
                finally:
                    defined_targets(None)
            for f in self.script.functions:
                if isinstance(f.body, ast.Block):
                    fold_stmt(f.body)
            for p in probes:
                if p.condition is not None:
                    p.condition = fold(p.condition)
        except FoldError as err:
            self.error(err.message)
            self._fail_if_errors()
        for p in self._entry_probes(probes):
            probes.append(p)
            bodies.append((p.body, []))
            spec_of[id(p.body)] = p.spec
        for body, _ in bodies:
            scope = _Scope(self.body_locals.setdefault(id(body), {}))
            self._spec = spec_of.get(id(body))
            self._body = body
            self._resolve_stmt(body, scope)
            if self._spec is not None:
                self._order_fields(body, self._spec)
        self._spec = None
        global_scope = _Scope({})
        for p in probes:
            if p.condition is not None:
                self._resolve_expr(p.condition, global_scope)
                if global_scope.locals:
                    name, decl = next(iter(global_scope.locals.items()))
                    self.error(
                        f"probe condition must not reference local variable {name}", decl.tok
                    )
                    global_scope.locals.clear()
        # functions are resolved as they are found to be called (a worklist)
        i = 0
        while i < len(self.used_functions):
            f = self.used_functions[i]
            self._resolve_function(f)
            i += 1
        self._check_wrapping()
        self._fail_if_errors()
        self._warn_never_assigned(bodies, probes)
        self._infer_all(bodies, probes)
        self._fail_if_errors()
        self._check_unresolved(bodies, probes)
        self._check_foreach_modifications(bodies)
        self._fail_if_errors()
        if self.global_display:
            probes.extend(self._global_display())
            self._fail_if_errors()
        used = [g for g in self.script.globals if g.read or g.written or g.init is not None]
        return Program(
            self.script,
            probes,
            self.used_functions,
            used,
            self.body_locals,
            self.body_fields,
            self.entry_slots,
        )

    def _entry_probes(self, probes: list[DerivedProbe]) -> list[DerivedProbe]:
        """For each ``@entry(value)`` in a syscall return probe (syscalls:sys_exit_X), an
        entry probe on sys_enter_X that saves ``value`` per thread; the return probe
        reads it back (stap evaluates @entry at the function's entry)."""
        from .tracepoints import catalogue

        out: list[DerivedProbe] = []
        for p in probes:
            event = p.spec.event
            if event is None or event.group != "syscalls" or not event.name.startswith("sys_exit_"):
                continue
            entries = [
                x
                for st in _walk_stmts(p.body)
                for e, _ in _stmt_exprs(st)
                for x in _walk_expr(e)
                if isinstance(x, ast.Entry)
            ]
            enter = catalogue().get(f"syscalls:sys_enter_{event.name[len('sys_exit_') :]}")
            if not entries or enter is None:
                continue
            saves: list[ast.Stmt] = []
            for e in entries:
                e.slot = self.entry_slots
                self.entry_slots += 1
                saves.append(ast.ExprStmt(e.tok, ast.EntrySave(e.tok, e.slot, e.operand)))
            spec = PointSpec("trace", f'kernel.trace("{enter.text}")', event=enter)
            body = ast.Block(p.body.tok, saves)
            out.append(DerivedProbe(spec, f"{p.origin} (@entry)", p.tok, body, p.condition))
        return out

    def _order_fields(self, body: ast.Block, spec: PointSpec) -> None:
        """The fields ``body`` read, in the event's order (the order of the record)."""
        assert spec.event is not None
        used = set(self.body_fields.get(id(body), ()))
        self.body_fields[id(body)] = [f for f in spec.event.fields if f in used]

    def _bind_task_field(self, e: ast.FunctionCall) -> bool:
        """``task_execname($p)``, ``task_pid($prev)``...: of a task pointer the event's
        record describes, its field (the task may be gone when the handler runs)."""
        spec = self._spec
        if spec is None or spec.event is None or len(e.args) != 1:
            return False
        arg = e.args[0]
        if not isinstance(arg, ast.TargetSymbol):
            return False
        task = _task_member(spec.event, arg)
        if task is None or not task[1]:
            return False
        pid_field = task[0]
        member = TASK_FIELD_FUNCTIONS[e.name]
        prefix = pid_field.name[: -len("pid")]
        f = spec.event.field(member if member == "orig_cpu" else prefix + member)
        if f is None or f.kind == "array":
            return False
        e.arg_field = (f, "str" if f.kind == "string" else "__long")
        e.type = STRING if f.kind == "string" else LONG
        fields = self.body_fields.setdefault(id(self._body), [])
        if f not in fields:
            fields.append(f)
        return True

    def _bind_arg(self, e: ast.FunctionCall) -> bool:
        """``int_arg(N)``, ``pointer_arg(N)``... (dwarfless.stp) in a syscall entry
        probe: the Nth argument of the syscall, the Nth field of its tracepoint."""
        spec = self._spec
        event = None if spec is None else spec.event
        if event is None or event.group != "syscalls" or not event.name.startswith("sys_enter_"):
            self.error(
                f"{e.name}() reads a syscall's argument: the python runtime has it only "
                "in probes on syscall entries",
                e.tok,
            )
            return True
        args = [f for f in event.fields if f.name != "__syscall_nr"]
        n = e.args[0].value if len(e.args) == 1 and isinstance(e.args[0], ast.NumberLit) else 0
        if not 1 <= n <= len(args):
            self.error(f"{e.name}(): {event.name[10:]} has {len(args)} arguments", e.tok)
            return True
        f = args[n - 1]
        e.arg_field = (f, ARG_FUNCTIONS[e.name])
        e.type = LONG
        fields = self.body_fields.setdefault(id(self._body), [])
        if f not in fields:
            fields.append(f)
        return True

    def _bind_target(self, e: ast.TargetSymbol) -> bool:
        """``$name`` in a kernel.trace handler: a field of its event, or a context name.
        True when bound; False when this is no kernel.trace handler."""
        spec = self._spec
        if spec is None or spec.event is None or e.kind != "$":
            return False
        fields = self.body_fields.setdefault(id(self._body), [])
        task = _task_member(spec.event, e)
        if task is not None:  # $prev->pid, $p->comm, $next: what the record has of them
            member, handle = task
            e.binding = ("task", member) if handle else member
            e.type = STRING if member.kind == "string" and not handle else LONG
            if member not in fields:
                fields.append(member)
            return True
        if e.components or e.addressof:
            self.error(
                "the python runtime cannot dereference a tracepoint field; read it as a "
                "number or, for a user-space string, with user_string()",
                e.tok,
            )
            return True
        if e.name in TRACE_CONTEXT:
            e.binding = e.name
            e.type = STRING
            if e.name != "$$name":
                for each in spec.event.fields:
                    if each.kind != "array" and each not in fields:
                        fields.append(each)
            return True
        f = spec.event.field(e.name[1:])
        if f is None or f.kind == "array":
            names = [f"${x.name}" for x in spec.event.fields if x.kind != "array"]
            alternatives = ", ".join([*TRACE_CONTEXT, *names])
            self.error(
                f"unable to find tracepoint variable '{e.name}' (alternatives: {alternatives})",
                e.tok,
            )
            return True
        e.binding = f
        e.type = STRING if f.kind == "string" else LONG
        if f not in fields:
            fields.append(f)
        return True

    # ------------------------------------------------------------------ never assigned
    def _warn_never_assigned(
        self, bodies: list[tuple[ast.Block, list[ast.Expr]]], probes: list[DerivedProbe]
    ) -> None:
        """stap's warnings for variables read but never written: locals of each probe,
        then of each function (by name), then globals.  Marks what is read and written
        (``mark_uses``), once for the whole pass."""
        functions = sorted(self.used_functions, key=lambda f: f.name)
        roots: list[ast.Stmt] = [b for b, _ in bodies]
        roots += [f.body for f in functions if isinstance(f.body, ast.Block)]
        for root in roots:
            for st in _walk_stmts(root):
                mark_stmt_uses(st)
        for p in probes:
            if p.condition is not None:
                mark_uses(p.condition)
        used_globals = [g for g in self.script.globals if g.read or g.written]
        global_names = {g.name for g in used_globals}
        scopes: list[dict[str, ast.VarDecl]] = [self.body_locals.get(id(b), {}) for b, _ in bodies]
        for f in functions:
            for param in f.params:
                decl = f.locals.get(param.name)
                if decl is not None:
                    decl.written = True
            scopes.append(f.locals)
        for scope in scopes:
            for decl in scope.values():
                if decl.written or not decl.read:
                    continue
                others = (set(scope) | global_names) - {decl.name}
                self.warn(
                    f"never-assigned local variable '{decl.name}'{_similar(decl.name, others)}",
                    decl.tok,
                )
        for g in used_globals:
            if not g.written and g.init is None:
                self.warn(
                    f"never-assigned global variable '{g.name}'{_similar(g.name, global_names)}",
                    g.tok,
                )

    # ------------------------------------------------------------------ global display
    def _global_display(self) -> list[DerivedProbe]:
        """stap's add_global_var_display: an ``end`` probe, written in the language
        itself, printing each global the script writes but never reads."""
        out: list[DerivedProbe] = []
        for g in self.script.globals:
            if not g.written or g.read or g.type == UNKNOWN:
                continue
            code = display_code(g)
            source = Source(g.tok.location.source.name, code)
            synthetic = parse(source, diagnostics=self.diag)
            for probe in synthetic.probes:
                for point in probe.points:
                    for spec in resolve_builtin(point, self.hz):
                        out.append(DerivedProbe(spec, point.text(), probe.tok, probe.body, None))
                scope = _Scope(self.body_locals.setdefault(id(probe.body), {}))
                self._resolve_stmt(probe.body, scope)
                self._infer_until_stable(functools.partial(self._infer_stmt, probe.body, None), 10)
        return out

    # ------------------------------------------------------------------ probes
    def _derive_all(self) -> list[DerivedProbe]:
        out: list[DerivedProbe] = []
        for probe in self.script.probes:
            for point in probe.points:
                try:
                    found = self._derive(point, probe.body, probe.tok, point.condition, ())
                except ProbeError as err:
                    if point.optional:
                        continue
                    self._report_probe_error(point, err)
                    continue
                origin = point.text()
                for spec, body, cond, alias_name in found:
                    out.append(DerivedProbe(spec, origin, probe.tok, body, cond, alias_name))
                if found and point.sufficient:
                    break
        # a kernel.trace handler reads its own event's fields: each gets its own body
        uses: dict[int, int] = {}
        for p in out:
            uses[id(p.body)] = uses.get(id(p.body), 0) + 1
        for p in out:
            if p.spec.kind in EVENT_KINDS and uses[id(p.body)] > 1:
                memo: dict[int, object] = {id(src): src for src in _sources(p.body)}
                p.body = deep.copy_tree(p.body, memo)
        return out

    def _report_probe_error(self, point: ast.ProbePoint, err: ProbeError) -> None:
        first = point.components[0].tok
        msg = err.message
        if msg == "probe point mismatch":
            names = list(TOP_LEVEL) + [
                n.components[0].functor for a in self.aliases for n in a.names
            ]
            tok = err.tok if isinstance(err.tok, Token) else first
            msg += _similar(tok.content, names)
        toks = (err.tok,) if isinstance(err.tok, Token) else ()
        self.error(
            "while resolving probe point",
            first,
            kind=f"while resolving probe point: {err.message}",
            chain=((msg, toks),),
        )

    def _alias_matches(self, point: ast.ProbePoint) -> list[tuple[ast.ProbeAlias, ast.ProbePoint]]:
        import fnmatch

        matches = []
        for alias in self.aliases:
            for name in alias.names:
                if len(name.components) != len(point.components):
                    continue
                ok = True
                for mine, theirs in zip(point.components, name.components, strict=True):
                    if mine.arg is not None or theirs.arg is not None:
                        ok = False
                        break
                    if not fnmatch.fnmatchcase(theirs.functor, mine.functor):
                        ok = False
                        break
                if ok:
                    matches.append((alias, name))
        return matches

    def _derive(
        self,
        point: ast.ProbePoint,
        body: ast.Block,
        tok: Token,
        condition: ast.Expr | None,
        expanding: tuple[ast.ProbeAlias, ...],
    ) -> list[tuple[PointSpec, ast.Block, ast.Expr | None, str | None]]:
        matches = self._alias_matches(point)
        if not matches:
            return [(spec, body, condition, None) for spec in resolve_builtin(point, self.hz)]
        out: list[tuple[PointSpec, ast.Block, ast.Expr | None, str | None]] = []
        for alias, name in matches:
            if alias in expanding:
                raise ProbeError(
                    f"recursive loop in alias expansion of {name.text()} at "
                    f"{name.components[0].tok.location}"
                )
            memo: dict[int, object] = {}
            for src in _sources(alias.body):
                memo[id(src)] = src
            prologue = deep.copy_tree(alias.body, memo)
            if self.elide and alias.tok.location.source.name == TAPSET_NAME and not alias.epilogue:
                prologue = _elide_unused(prologue, body, set(self.globals))
            if alias.epilogue:
                parts: list[ast.Stmt] = [body, prologue]
            else:
                parts = [prologue, body]
                if alias.body2 is not None:
                    parts.append(deep.copy_tree(alias.body2, memo))
            combined = ast.Block(alias.body.tok, parts)
            for sub in alias.points:
                cond = condition
                if sub.condition is not None:
                    cond = (
                        sub.condition
                        if cond is None
                        else ast.Logical(sub.condition.tok, "&&", cond, sub.condition)
                    )
                try:
                    found = self._derive(sub, combined, tok, cond, (*expanding, alias))
                    out.extend((sp, b, c, name.text()) for sp, b, c, _ in found)
                except ProbeError:
                    if sub.optional:
                        continue
                    raise
                if sub.sufficient and out:
                    break
        return out

    # ------------------------------------------------------------------ symbols
    def _resolve_function(self, f: ast.FunctionDecl) -> None:
        if isinstance(f.body, ast.EmbeddedStmt):
            self.error(
                "embedded C code is not available in the python runtime; it needs a "
                "compile server with SystemTap",
                f.tok,
            )
            return
        scope = _Scope(f.locals, f)
        for p in f.params:
            decl = ast.VarDecl(p.tok, p.name, is_global=False)
            decl.type = p.type
            decl.arity = 0
            if p.type != UNKNOWN:
                self._type_tok[id(decl)] = p.tok
            f.locals[p.name] = decl
        if f.declared_type != UNKNOWN:
            f.type = f.declared_type
            self._type_tok[id(f)] = f.tok
        self._resolve_stmt(f.body, scope)

    def _call_function(self, f: ast.FunctionDecl) -> None:
        if id(f) not in self._function_seen:
            self._function_seen.add(id(f))
            self.used_functions.append(f)

    def _global_array(self, sym: ast.Symbol, scope: _Scope, arity: int) -> None:
        decl = self.globals.get(sym.name)
        if decl is None or sym.name in scope.locals:
            self.error(
                f"unresolved arity-{arity} global array {sym.name}, missing global declaration?",
                sym.tok,
                kind="unresolved global array",
            )
            return
        sym.decl = decl
        self._set_arity(decl, arity, sym.tok)

    def _set_arity(self, decl: ast.VarDecl, arity: int, tok: Token) -> None:
        if decl.arity < 0:
            decl.arity = arity
            self._arity_tok[id(decl)] = tok
            decl.index_types = [UNKNOWN] * arity
        elif decl.arity != arity:
            first = self._arity_tok.get(id(decl))
            chain = ((f"arity {decl.arity} first inferred here", (first,)),) if first else ()
            self.error(
                f"inconsistent arity ({decl.arity} vs {arity})",
                tok,
                kind="inconsistent arity",
                chain=chain,
            )

    def _lookup(self, sym: ast.Symbol, scope: _Scope) -> None:
        if sym.name in scope.locals:
            sym.decl = scope.locals[sym.name]
            return
        decl = self.globals.get(sym.name)
        if decl is not None:
            sym.decl = decl
            self._set_arity(decl, 0, sym.tok)
            return
        local = ast.VarDecl(sym.tok, sym.name, is_global=False)
        local.arity = 0
        scope.locals[sym.name] = local
        sym.decl = local

    def _resolve_stmt(self, s: ast.Stmt, scope: _Scope) -> None:
        r = self._resolve_expr
        if isinstance(s, ast.Block):
            for sub in s.body:
                self._resolve_stmt(sub, scope)
        elif isinstance(s, ast.ExprStmt):
            r(s.expr, scope)
        elif isinstance(s, ast.If):
            for node in deep.else_chain(s):
                r(node.cond, scope)
                self._resolve_stmt(node.then, scope)
                if node.otherwise is not None and not isinstance(node.otherwise, ast.If):
                    self._resolve_stmt(node.otherwise, scope)
        elif isinstance(s, ast.For):
            if s.init is not None:
                r(s.init.expr, scope)
            r(s.cond, scope)
            if s.step is not None:
                r(s.step.expr, scope)
            self._resolve_stmt(s.body, scope)
        elif isinstance(s, ast.Foreach):
            if isinstance(s.base, ast.Symbol):
                self._global_array(s.base, scope, len(s.keys))
            else:
                r(s.base.stat, scope)
                if len(s.keys) != 1:
                    self.error("histogram foreach takes exactly one key", s.tok)
            for k in s.keys:
                self._lookup(k, scope)
            if s.value is not None:
                self._lookup(s.value, scope)
            for e in s.slice:
                if e is not None:
                    r(e, scope)
            if s.slice and len(s.slice) != len(s.keys):
                self.error("array slice must have the same number of indexes as the array", s.tok)
            if s.limit is not None:
                r(s.limit, scope)
            self._resolve_stmt(s.body, scope)
        elif isinstance(s, ast.Return):
            if s.value is not None:
                r(s.value, scope)
        elif isinstance(s, ast.Delete):
            t = s.target
            if isinstance(t, ast.Symbol):
                if t.name in scope.locals:
                    t.decl = scope.locals[t.name]
                elif t.name in self.globals:
                    t.decl = self.globals[t.name]
                else:
                    self._lookup(t, scope)
            elif isinstance(t, ast.ArrayIndex):
                self._resolve_index(t, scope, allow_slice=True)
            else:
                self.error("invalid operand of delete expression", t.tok)
        elif isinstance(s, ast.TryBlock):
            self._resolve_stmt(s.body, scope)
            if s.catch_var is not None:
                self._lookup(s.catch_var, scope)
            self._resolve_stmt(s.handler, scope)
        elif isinstance(s, ast.EmbeddedStmt):
            self.error(
                "embedded C code is not available in the python runtime; it needs a "
                "compile server with SystemTap",
                s.tok,
            )

    def _resolve_index(self, e: ast.ArrayIndex, scope: _Scope, allow_slice: bool = False) -> None:
        if isinstance(e.base, ast.Symbol):
            self._global_array(e.base, scope, len(e.indexes))
        else:
            self._resolve_expr(e.base.stat, scope)
            if len(e.indexes) != 1:
                self.error("histogram index takes exactly one index", e.tok)
        for i in e.indexes:
            if i is None:
                if not allow_slice:
                    self.error("wildcard not allowed in array index", e.tok)
            else:
                self._resolve_expr(i, scope)

    def _resolve_expr(self, e: ast.Expr, scope: _Scope) -> None:
        r = self._resolve_expr
        if isinstance(e, ast.Symbol):
            self._lookup(e, scope)
        elif isinstance(e, ast.NumberLit | ast.StringLit):
            return
        elif isinstance(e, ast.ArrayIndex):
            self._resolve_index(e, scope)
        elif isinstance(e, ast.ArrayIn):
            base = e.index.base
            if isinstance(base, ast.Symbol):
                self._global_array(base, scope, len(e.index.indexes))
            else:
                self.error("histogram cannot be tested with 'in'", e.tok)
            for i in e.index.indexes:
                if i is not None:
                    r(i, scope)
        elif isinstance(e, ast.FunctionCall):
            for a in e.args:
                r(a, scope)
            candidates = [f for f in self.functions.get(e.name, []) if len(f.params) == len(e.args)]
            if candidates:
                candidates.sort(key=lambda f: f.priority)
                e.decl = candidates[0]
                e.overloads = candidates
                for f in candidates:
                    self._call_function(f)
                return
            if e.name in self.functions:
                f = self.functions[e.name][0]
                self.error(
                    f"arity mismatch found (function '{e.name}' takes {len(f.params)} args)",
                    e.tok,
                    f.tok,
                )
                return
            if e.name in ARG_FUNCTIONS and self._bind_arg(e):
                return
            if e.name in TASK_FIELD_FUNCTIONS and self._bind_task_field(e):
                return
            b = lookup(e.name, len(e.args))
            if b is not None:
                e.builtin = e.name
                return
            if e.name in BUILTINS:
                n = len(BUILTINS[e.name][0].args)
                self.error(f"arity mismatch found (function '{e.name}' takes {n} args)", e.tok)
                return
            # stap suggests the functions resolved so far (a script function only once a
            # call has reached it) and the library's
            names = [f.name for f in self.used_functions] + list(BUILTINS)
            self.error(
                f"unresolved function {e.name}{_similar(e.name, names)}",
                e.tok,
                kind="unresolved function",
            )
        elif isinstance(e, ast.PrintFormat):
            if e.hist is not None:
                r(e.hist.stat, scope)
            for a in e.args:
                r(a, scope)
        elif isinstance(e, ast.StatOp | ast.HistOp):
            r(e.stat, scope)  # a local statistic is refused at type resolution
        elif isinstance(e, ast.Assignment):
            r(e.left, scope)
            r(e.right, scope)
            if e.op == "<<<":
                left = e.left
                if (
                    isinstance(left, ast.Symbol)
                    and left.decl is not None
                    and not left.decl.is_global
                ):
                    self.error("stat locals not supported, missing global declaration? ", left.tok)
        elif isinstance(e, ast.Unary | ast.Crement):
            r(e.operand, scope)
        elif isinstance(e, deep.CHAINS):
            first, nodes = deep.spine(e)
            r(first, scope)
            for node in nodes:
                r(node.right, scope)  # type: ignore[attr-defined]
        elif isinstance(e, ast.RegexMatch):
            r(e.left, scope)
            self._check_regex(e.pattern)
        elif isinstance(e, ast.Ternary):
            r(e.cond, scope)
            r(e.then, scope)
            r(e.otherwise, scope)
        elif isinstance(e, ast.Entry) and e.slot >= 0:
            pass  # its operand is resolved in the entry probe (_entry_probes)
        elif isinstance(e, ast.EntrySave):
            r(e.value, scope)
        elif isinstance(e, ast.Entry):
            self.error(
                "@entry is only available in return probes (not in the python runtime)", e.tok
            )
        elif isinstance(e, ast.TargetSymbol) and self._bind_target(e):
            pass
        elif isinstance(e, ast.TargetSymbol):
            what = "target-symbol expression" if e.kind in ("$", "@var") else f"{e.kind} expression"
            self.error(
                f"unresolved {what}: the python runtime cannot read a probed program's "
                "memory; it needs a compile server with SystemTap",
                e.tok,
            )
        elif isinstance(e, ast.EmbeddedExpr):
            self.error(
                "embedded C code is not available in the python runtime; it needs a "
                "compile server with SystemTap",
                e.tok,
            )
        elif isinstance(e, ast.OtherAtOp):
            self.error(f"{e.name} is not available in the python runtime", e.tok)

    def _check_wrapping(self) -> None:
        for g in self.script.globals:
            if g.wrap and g.arity == 0:
                self.error("wrapping not supported for scalars", g.tok)

    # ------------------------------------------------------------------ types
    def _infer_all(
        self, bodies: list[tuple[ast.Block, list[ast.Expr]]], probes: list[DerivedProbe]
    ) -> None:
        for g in self.script.globals:
            if g.init is not None:
                t = LONG if isinstance(g.init, ast.NumberLit) else STRING
                g.type = t
                self._type_tok[id(g)] = g.tok
                g.written = True
        # stap's order: functions (by name), then probes, until no type changes
        functions = sorted(self.used_functions, key=lambda f: f.name)

        def infer_once() -> None:
            for f in functions:
                if isinstance(f.body, ast.Block):
                    self._infer_stmt(f.body, f)
            for body, _ in bodies:
                self._infer_stmt(body, None)
            for p in probes:
                if p.condition is not None:
                    self._infer(p.condition, LONG)

        self._infer_until_stable(infer_once, 50)

    def _infer_until_stable(self, infer_once: Callable[[], None], rounds: int) -> None:
        """Run type inference again until a round changes no type (at most ``rounds``)."""
        for _ in range(rounds):
            self._changed = False
            infer_once()
            if not self._changed:
                return

    def _unify_decl(self, decl: ast.VarDecl, t: str, tok: Token) -> str:
        if t == UNKNOWN:
            return decl.type
        if decl.type == UNKNOWN:
            decl.type = t
            self._type_tok[id(decl)] = tok
            self._changed = True
        elif decl.type != t:
            self._mismatch_decl(decl.type, t, tok, self._type_tok.get(id(decl)))
        return decl.type

    def _mismatch_decl(self, have: str, want: str, tok: Token, first: Token | None) -> None:
        if id(tok) in self._printed_toks:  # stap reports a declaration's mismatch once
            return
        self._printed_toks.add(id(tok))
        chain = ((f"type was first inferred here ({have})", (first,)),) if first else ()
        self.error(f"type mismatch ({want})", tok, kind="type mismatch", chain=chain)

    def _expect(self, e: ast.Expr, actual: str, t: str) -> None:
        e.type = actual
        if t not in (UNKNOWN, actual):
            if actual == STATS or t == STATS:
                self.error(f"invalid type {actual}", e.tok)
            else:
                self.error(
                    f"type mismatch: expected {t} but found {actual}",
                    e.tok,
                    kind="type mismatch: expected",
                )

    def _infer(self, e: ast.Expr, t: str) -> None:
        inf = self._infer
        if isinstance(e, ast.NumberLit):
            self._expect(e, LONG, t)
        elif isinstance(e, ast.StringLit):
            self._expect(e, STRING, t)
        elif isinstance(e, ast.TargetSymbol) and e.binding is not None:
            self._expect(e, e.type, t)
        elif isinstance(e, ast.EntrySave):
            inf(e.value, UNKNOWN)
            e.type = e.value.type
        elif isinstance(e, ast.Entry) and e.slot >= 0:
            if e.operand.type == UNKNOWN and t in (LONG, STRING):
                inf(e.operand, t)
            if e.operand.type != UNKNOWN:
                self._expect(e, e.operand.type, t)
        elif isinstance(e, ast.Symbol):
            decl = e.decl
            if decl is None:
                return
            if decl.arity > 0:
                self.error(f"array {decl.name} used as a scalar", e.tok)
                return
            if t == STATS and decl.type == UNKNOWN and not decl.is_global:
                return
            if decl.type == STATS and t not in (UNKNOWN, STATS):
                self.error("invalid type stats", e.tok)
                e.type = STATS
                return
            e.type = self._unify_decl(decl, t, e.tok)
        elif isinstance(e, ast.ArrayIndex):
            self._infer_index(e, t)
        elif isinstance(e, ast.ArrayIn):
            self._infer_keys(e.index)
            self._expect(e, LONG, t)
        elif isinstance(e, ast.Assignment):
            self._infer_assignment(e, t)
        elif isinstance(e, ast.Binary | ast.Logical):
            # the chain down the left operand, in a loop (each link a long operand)
            first, nodes = deep.spine(e)
            inf(first, LONG)
            for node in nodes:
                inf(node.right, LONG)  # type: ignore[attr-defined]
                self._expect(node, LONG, t if node is e else LONG)
        elif isinstance(e, ast.Unary):
            inf(e.operand, LONG)
            self._expect(e, LONG, t)
        elif isinstance(e, ast.Crement):
            if not _is_lvalue(e.operand):
                self.error("expected lvalue", e.operand.tok)
            inf(e.operand, LONG)
            self._expect(e, LONG, t)
        elif isinstance(e, ast.Concat):
            first, nodes = deep.spine(e)
            inf(first, STRING)
            for node in nodes:
                assert isinstance(node, ast.Concat)
                inf(node.right, STRING)
                self._expect(node, STRING, t if node is e else STRING)
        elif isinstance(e, ast.Comparison):
            first, nodes = deep.spine(e)
            inf(first, UNKNOWN)
            for node in nodes:
                assert isinstance(node, ast.Comparison)
                inf(node.right, node.left.type)
                if node.left.type == UNKNOWN and node.right.type != UNKNOWN:
                    inf(node.left, node.right.type)
                if STATS in (node.left.type, node.right.type):
                    self.error("invalid type stats", node.tok)
                self._expect(node, LONG, t if node is e else UNKNOWN)
        elif isinstance(e, ast.RegexMatch):
            inf(e.left, STRING)
            self._expect(e, LONG, t)
        elif isinstance(e, ast.Ternary):
            inf(e.cond, LONG)
            inf(e.then, t)
            inf(e.otherwise, e.then.type if e.then.type != UNKNOWN else t)
            if e.then.type == UNKNOWN and e.otherwise.type != UNKNOWN:
                inf(e.then, e.otherwise.type)
            e.type = e.then.type
        elif isinstance(e, ast.FunctionCall):
            self._infer_call(e, t)
        elif isinstance(e, ast.PrintFormat):
            self._infer_print(e, t)
        elif isinstance(e, ast.StatOp):
            self._check_stat_local(e.stat)
            inf(e.stat, STATS)
            if e.kind == "variance":
                self._note_stat(e.stat, bit_shift=e.params[0] if e.params else 0, tok=e.tok)
            self._expect(e, LONG, t)
        elif isinstance(e, ast.HistOp):
            self._check_stat_local(e.stat)
            inf(e.stat, STATS)
            e.type = STATS

    def _check_stat_local(self, stat: ast.Expr) -> None:
        if (
            isinstance(stat, ast.Symbol)
            and stat.decl is not None
            and not stat.decl.is_global
            and id(stat.tok) not in self._printed_toks
        ):
            self._printed_toks.add(id(stat.tok))
            self.error("stat locals not supported, missing global declaration? ", stat.tok)

    def _note_stat(
        self,
        stat: ast.Expr,
        *,
        bit_shift: int | None = None,
        hist: tuple[str, tuple[int, ...]] | None = None,
        tok: Token | None = None,
    ) -> None:
        decl = None
        if isinstance(stat, ast.Symbol):
            decl = stat.decl
        elif isinstance(stat, ast.ArrayIndex) and isinstance(stat.base, ast.Symbol):
            decl = stat.base.decl
        if decl is None:
            return
        if bit_shift is not None:
            if not 0 <= bit_shift <= 62:
                self.error(f"bit shift ({bit_shift}) out of range <0..62>", tok or stat.tok)
            elif decl.bit_shift is not None and decl.bit_shift != bit_shift:
                self.error(
                    f"conflicting bit shifts declared (previously {decl.bit_shift})",
                    tok or stat.tok,
                )
            else:
                decl.bit_shift = bit_shift
        if hist is not None and hist not in decl.hist_specs:
            decl.hist_specs.append(hist)
            if len(decl.hist_specs) > 1:
                self.error(
                    f"multiple histogram types declared on '__global_{decl.name}'",
                    tok or stat.tok,
                )

    def _infer_index(self, e: ast.ArrayIndex, t: str) -> None:
        if isinstance(e.base, ast.HistOp):
            self._infer(e.base, STATS)
            self._note_hist(e.base)
            for i in e.indexes:
                if i is not None:
                    self._infer(i, LONG)
            self._expect(e, LONG, t)
            return
        decl = e.base.decl
        self._infer_keys(e)
        if decl is None:
            return
        if decl.type == STATS and t not in (UNKNOWN, STATS):
            self.error("invalid type stats", e.tok)
            e.type = STATS
            return
        e.type = self._unify_decl(decl, t, e.tok)

    def _infer_keys(self, e: ast.ArrayIndex) -> None:
        if not isinstance(e.base, ast.Symbol) or e.base.decl is None:
            return
        decl = e.base.decl
        if decl.arity != len(e.indexes):
            return
        for n, idx in enumerate(e.indexes):
            if idx is None:
                continue
            want = decl.index_types[n]
            self._infer(idx, want)
            if idx.type == STATS:
                self.error("invalid type stats", idx.tok)
                continue
            if want == UNKNOWN and idx.type != UNKNOWN:
                decl.index_types[n] = idx.type
                self._index_tok[(id(decl), n)] = idx.tok
                self._changed = True
            elif want != UNKNOWN and idx.type not in (UNKNOWN, want):
                first = self._index_tok.get((id(decl), n))
                chain = (
                    ((f"type of index {n} was first inferred here ({want})", (first,)),)
                    if first is not None
                    else ()
                )
                self.error(
                    f"index {n} type mismatch ({idx.type})",
                    idx.tok,
                    kind="index type mismatch",
                    chain=chain,
                )

    def _infer_assignment(self, e: ast.Assignment, t: str) -> None:
        inf = self._infer
        if not _is_lvalue(e.left):
            self.error("expected lvalue", e.left.tok)
        if e.op == "<<<":
            inf(e.left, STATS)
            inf(e.right, LONG)
            self._expect(e, LONG, t)
        elif e.op == "=":
            # as stap: the value first, then the variable it is stored in
            inf(e.right, t)
            inf(e.left, e.right.type if e.right.type != STATS else UNKNOWN)
            if e.right.type == UNKNOWN and e.left.type not in (UNKNOWN, STATS):
                inf(e.right, e.left.type)
            if e.left.type == STATS:
                self.error("invalid type stats", e.left.tok)
            e.type = e.left.type
        elif e.op == ".=":
            inf(e.left, STRING)
            inf(e.right, STRING)
            self._expect(e, STRING, t)
        else:
            inf(e.left, LONG)
            inf(e.right, LONG)
            self._expect(e, LONG, t)

    def _infer_call(self, e: ast.FunctionCall, t: str) -> None:
        if e.arg_field is not None:
            self._expect(e, STRING if e.arg_field[1] == "str" else LONG, t)
            return
        if e.decl is not None:
            for f in e.overloads or [e.decl]:
                for arg, param in zip(e.args, f.params, strict=False):
                    decl = f.locals.get(param.name)
                    if decl is None:
                        continue
                    self._infer(arg, decl.type)
                    if decl.type == UNKNOWN and arg.type not in (UNKNOWN, STATS):
                        self._unify_decl(decl, arg.type, arg.tok)
                    if arg.type == STATS:
                        self.error("invalid type stats", arg.tok)
                if t != UNKNOWN:
                    if f.type == UNKNOWN:
                        f.type = t
                        self._type_tok[id(f)] = e.tok
                        self._changed = True
                    elif f.type != t:
                        self._mismatch_decl(f.type, t, e.tok, self._type_tok.get(id(f)))
            e.type = e.decl.type
            return
        if e.builtin is None:
            return
        b = lookup(e.builtin, len(e.args))
        assert b is not None
        for arg, want in zip(e.args, b.args, strict=True):
            self._infer(arg, want)
        if b.ret == UNKNOWN:
            e.type = UNKNOWN
            if t != UNKNOWN:
                self.error("unresolved type ", e.tok)
        else:
            self._expect(e, b.ret, t)

    def _note_hist(self, h: ast.HistOp) -> None:
        self._note_stat(h.stat, hist=(h.kind, tuple(h.params)), tok=h.tok)

    def _infer_print(self, e: ast.PrintFormat, t: str) -> None:
        if e.hist is not None:
            self._infer(e.hist, STATS)
            self._note_hist(e.hist)
        if e.parsed is not None:
            types = e.parsed.arg_types
            if len(types) != len(e.args):
                self.error("Wrong number of args to formatted print operator", e.tok)
            for arg, want in zip(e.args, types, strict=False):
                self._infer(arg, want)
                if isinstance(arg, ast.NumberLit | ast.StringLit):
                    # stap checks a literal argument twice, and says so twice
                    self._infer(arg, want)
        else:
            # a statistic printed whole is refused at pass 3 (codegen)
            for arg in e.args:
                self._infer(arg, UNKNOWN)
        self._expect(e, STRING if e.to_string else LONG, t)

    def _infer_stmt(self, s: ast.Stmt, fn: ast.FunctionDecl | None) -> None:
        inf = self._infer
        if isinstance(s, ast.Block):
            for sub in s.body:
                self._infer_stmt(sub, fn)
        elif isinstance(s, ast.ExprStmt):
            inf(s.expr, UNKNOWN)
        elif isinstance(s, ast.If):
            for node in deep.else_chain(s):
                inf(node.cond, LONG)
                self._infer_stmt(node.then, fn)
                if node.otherwise is not None and not isinstance(node.otherwise, ast.If):
                    self._infer_stmt(node.otherwise, fn)
        elif isinstance(s, ast.For):
            if s.init is not None:
                inf(s.init.expr, UNKNOWN)
            inf(s.cond, LONG)
            if s.step is not None:
                inf(s.step.expr, UNKNOWN)
            self._infer_stmt(s.body, fn)
        elif isinstance(s, ast.Foreach):
            self._infer_foreach(s, fn)
        elif isinstance(s, ast.Return):
            if fn is None or s.value is None:
                return
            inf(s.value, UNKNOWN)
            if s.value.type == UNKNOWN and fn.type != UNKNOWN:
                inf(s.value, fn.type)
            if s.value.type == STATS:
                self.error("invalid type stats", s.value.tok)
            elif s.value.type != UNKNOWN:
                if fn.type == UNKNOWN:
                    fn.type = s.value.type
                    self._type_tok[id(fn)] = s.value.tok
                    self._changed = True
                elif fn.type != s.value.type:
                    self._mismatch_decl(
                        fn.type, s.value.type, s.value.tok, self._type_tok.get(id(fn))
                    )
        elif isinstance(s, ast.Delete):
            t = s.target
            if isinstance(t, ast.ArrayIndex):
                self._infer_keys(t)
        elif isinstance(s, ast.TryBlock):
            self._infer_stmt(s.body, fn)
            if s.catch_var is not None:
                inf(s.catch_var, STRING)
            self._infer_stmt(s.handler, fn)

    def _infer_foreach(self, s: ast.Foreach, fn: ast.FunctionDecl | None) -> None:
        if isinstance(s.base, ast.HistOp):
            self._infer(s.base, STATS)
            self._note_hist(s.base)
            for k in s.keys:
                self._infer(k, LONG)
            if s.value is not None:
                self._infer(s.value, LONG)
        else:
            decl = s.base.decl
            if decl is not None and decl.arity == len(s.keys):
                for n, k in enumerate(s.keys):
                    want = decl.index_types[n]
                    self._infer(k, want)
                    if want == UNKNOWN and k.type != UNKNOWN:
                        decl.index_types[n] = k.type
                        self._index_tok[(id(decl), n)] = k.tok
                        self._changed = True
                for n, sl in enumerate(s.slice):
                    if sl is not None:
                        self._infer(sl, decl.index_types[n])
                if s.value is not None:
                    if decl.type == STATS:
                        self.error("invalid type stats", s.value.tok)
                    else:
                        self._infer(s.value, decl.type)
                        if decl.type == UNKNOWN and s.value.type != UNKNOWN:
                            self._unify_decl(decl, s.value.type, s.value.tok)
                if s.sort_aggregate is not None and decl.type not in (STATS, UNKNOWN):
                    self.error("sorting by a statistical operation needs a stats array", s.tok)
                if s.sort_aggregate == "variance":
                    self._note_stat(s.base, bit_shift=0, tok=s.tok)
        if s.limit is not None:
            self._infer(s.limit, LONG)
        self._infer_stmt(s.body, fn)

    # ------------------------------------------------------------------ final checks
    def _check_unresolved(
        self, bodies: list[tuple[ast.Block, list[ast.Expr]]], probes: list[DerivedProbe]
    ) -> None:
        def check(e: ast.Expr, void_ok: bool) -> None:
            if isinstance(e, ast.ArrayIn):  # the array's value type plays no part
                for i in e.index.indexes:
                    if i is not None:
                        check(i, False)
                return
            if (
                isinstance(e, ast.Symbol | ast.ArrayIndex | ast.FunctionCall)
                and e.type == UNKNOWN
                and not void_ok
            ):
                self.error("unresolved type ", e.tok)
            if isinstance(e, deep.CHAINS):
                first, nodes = deep.spine(e)
                check(first, False)
                for node in nodes:
                    check(node.right, False)  # type: ignore[attr-defined]
                return
            for _, child in _expr_children(e):
                if isinstance(child, list):
                    for c in child:
                        if c is not None:
                            check(c, False)
                elif isinstance(child, ast.Expr):
                    check(child, False)

        roots: list[ast.Stmt] = [b for b, _ in bodies]
        roots += [f.body for f in self.used_functions if isinstance(f.body, ast.Block)]
        for root in roots:
            for st in _walk_stmts(root):
                for e, void_ok in _stmt_exprs(st):
                    check(e, void_ok)
        for p in probes:
            if p.condition is not None:
                check(p.condition, False)
        for g in self.script.globals:
            if (g.read or g.written) and g.type == UNKNOWN:
                self.error("unresolved type ", g.tok)
            for n, it in enumerate(g.index_types):
                if it == UNKNOWN and (g.read or g.written):
                    self.error(f"unresolved type of index {n}", g.tok)

    def _check_foreach_modifications(self, bodies: list[tuple[ast.Block, list[ast.Expr]]]) -> None:
        writes = _function_writes(self.used_functions)
        roots: list[ast.Stmt] = [b for b, _ in bodies]
        roots += [f.body for f in self.used_functions if isinstance(f.body, ast.Block)]
        for root in roots:
            for st in _walk_stmts(root):
                if not isinstance(st, ast.Foreach) or not isinstance(st.base, ast.Symbol):
                    continue
                target = st.base.decl
                if target is None:
                    continue
                for inner in _walk_stmts(st.body):
                    for e, _ in _stmt_exprs(inner):
                        for sub in _walk_expr(e):
                            sym = _written_symbol(sub)
                            if sym is not None and sym.decl is target:
                                self.error(
                                    f"variable '{target.name}' modified during 'foreach' iteration",
                                    sym.tok,
                                )
                            if (
                                isinstance(sub, ast.FunctionCall)
                                and sub.decl is not None
                                and target.name in writes.get(id(sub.decl), set())
                            ):
                                self.error(
                                    f"function call modifies var '{target.name}' during "
                                    "'foreach' iteration",
                                    sub.tok,
                                )
                    if isinstance(inner, ast.Delete):
                        sym = _base_symbol(inner.target)
                        if sym is not None and sym.decl is target:
                            self.error(
                                f"variable '{target.name}' modified during 'foreach' iteration",
                                sym.tok,
                            )


# ---------------------------------------------------------------------- tree walking


def _elide_unused(prologue: ast.Block, body: ast.Block, globals_: set[str]) -> ast.Block:
    """A kernel-tapset alias's body without the assignments the handler never reads:
    its statements are plain ``local = expression`` (tapset functions have no side
    effects), so ``argstr = sprintf(...)`` costs nothing when nobody prints it."""
    wanted = ast.symbol_names(body)
    kept: list[ast.Stmt] = []
    for st in reversed(prologue.body):
        if (
            isinstance(st, ast.ExprStmt)
            and isinstance(st.expr, ast.Assignment)
            and st.expr.op == "="
            and isinstance(st.expr.left, ast.Symbol)
            and st.expr.left.name not in wanted
            and st.expr.left.name not in globals_
        ):
            continue
        kept.append(st)
        wanted |= ast.symbol_names(st)
    kept.reverse()
    return ast.Block(prologue.tok, kept)


# A task pointer a tracepoint's C arguments pass ($p, $prev, $next...), which the record
# gives as fields: (member -> field suffix).  ``$prev->pid`` is the field prev_pid (or
# pid for $p); ``$prev`` itself a task handle the task_* functions take (TASK_HANDLE +
# its pid, as runtime/tapset.py's task_current()).
_TASK_MEMBERS = {"pid": "pid", "comm": "comm", "prio": "prio", "__state": "state", "state": "state"}
_TASK_POINTERS = ("p", "task", "tsk")  # their members are the record's unprefixed fields


def _task_member(event: TraceEvent, e: ast.TargetSymbol) -> tuple[TraceField, bool] | None:
    """(field, is the handle) for ``$X->member`` or ``$X`` of a task pointer ``X`` the
    event's record describes; None otherwise."""
    if e.addressof or len(e.components) > 1 or e.name in TRACE_CONTEXT:
        return None
    base = e.name[1:]
    if event.field(base) is not None:
        return None  # a field of its own
    prefixes = [f"{base}_"] + ([""] if base in _TASK_POINTERS else [])
    if not e.components:
        for prefix in prefixes:
            f = event.field(f"{prefix}pid")
            if f is not None:
                return (f, True)
        return None
    comp = e.components[0]
    member = _TASK_MEMBERS.get(comp.name) if comp.kind == "member" else None
    if member is None:
        return None
    for prefix in prefixes:
        f = event.field(prefix + member)
        if f is not None and f.kind != "array":
            return (f, False)
    return None


def _target_names(spec: PointSpec) -> frozenset[str]:
    """What ``@defined($x)`` finds in a kernel.trace handler."""
    assert spec.event is not None
    names = {f"${f.name}" for f in spec.event.fields if f.kind != "array"}
    return frozenset(names | set(TRACE_CONTEXT))


def _sources(node: object) -> Iterator[Source]:
    tok = getattr(node, "tok", None)
    if isinstance(tok, Token):
        yield tok.location.source


def _expr_children(e: ast.Expr) -> list[tuple[str, object]]:
    if isinstance(e, ast.Binary | ast.Logical | ast.Comparison | ast.Concat):
        return [("left", e.left), ("right", e.right)]
    if isinstance(e, ast.Assignment):
        return [("left", e.left), ("right", e.right)]
    if isinstance(e, ast.Unary | ast.Crement):
        return [("operand", e.operand)]
    if isinstance(e, ast.RegexMatch):
        return [("left", e.left)]
    if isinstance(e, ast.Ternary):
        return [("cond", e.cond), ("then", e.then), ("otherwise", e.otherwise)]
    if isinstance(e, ast.ArrayIndex):
        out: list[tuple[str, object]] = [("indexes", e.indexes)]
        if isinstance(e.base, ast.HistOp):
            out.append(("base", e.base))
        return out
    if isinstance(e, ast.ArrayIn):
        return [("index", e.index)]
    if isinstance(e, ast.FunctionCall):
        return [("args", e.args)]
    if isinstance(e, ast.PrintFormat):
        out = [("args", e.args)]
        if e.hist is not None:
            out.append(("hist", e.hist))
        return out
    if isinstance(e, ast.StatOp | ast.HistOp):
        return [("stat", e.stat)]
    if isinstance(e, ast.Defined | ast.Entry):
        return [("operand", e.operand)]
    if isinstance(e, ast.EntrySave):
        return [("value", e.value)]
    return []


_LEAVES = frozenset([ast.NumberLit, ast.StringLit, ast.Symbol])
_PAIRS = frozenset([ast.Binary, ast.Logical, ast.Comparison, ast.Concat, ast.Assignment])


def _walk_expr(e: ast.Expr) -> Iterator[ast.Expr]:
    """``e`` and every expression in it, parents first, in evaluation order (a walk with
    a stack of its own: any depth)."""
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        cls = type(x)
        if cls in _LEAVES:
            continue
        if cls in _PAIRS:
            stack.append(x.right)  # type: ignore[attr-defined]
            stack.append(x.left)  # type: ignore[attr-defined]
            continue
        children: list[ast.Expr] = []
        for _, child in _expr_children(x):
            if isinstance(child, list):
                children.extend(c for c in child if c is not None)
            elif isinstance(child, ast.Expr):
                children.append(child)
        stack.extend(reversed(children))


def _walk_stmts(s: ast.Stmt) -> Iterator[ast.Stmt]:
    """``s`` and every statement in it, parents first, in order (any depth)."""
    stack = [s]
    while stack:
        x = stack.pop()
        yield x
        if isinstance(x, ast.Block):
            stack.extend(reversed(x.body))
        elif isinstance(x, ast.If):
            if x.otherwise is not None:
                stack.append(x.otherwise)
            stack.append(x.then)
        elif isinstance(x, ast.For | ast.Foreach):
            stack.append(x.body)
        elif isinstance(x, ast.TryBlock):
            stack.append(x.handler)
            stack.append(x.body)


def _stmt_exprs(s: ast.Stmt) -> list[tuple[ast.Expr, bool]]:
    """The expressions a statement evaluates directly, and whether each may be void."""
    if isinstance(s, ast.ExprStmt):
        return [(s.expr, True)]
    if isinstance(s, ast.If):
        return [(s.cond, False)]
    if isinstance(s, ast.For):
        out = [(s.cond, False)]
        if s.init is not None:
            out.append((s.init.expr, True))
        if s.step is not None:
            out.append((s.step.expr, True))
        return out
    if isinstance(s, ast.Foreach):
        out2: list[tuple[ast.Expr, bool]] = [(x, False) for x in s.slice if x is not None]
        if s.limit is not None:
            out2.append((s.limit, False))
        return out2
    if isinstance(s, ast.Return) and s.value is not None:
        return [(s.value, False)]
    if isinstance(s, ast.Delete) and isinstance(s.target, ast.ArrayIndex):
        return [(i, False) for i in s.target.indexes if i is not None]
    return []


def _base_symbol(e: ast.Expr) -> ast.Symbol | None:
    if isinstance(e, ast.Symbol):
        return e
    if isinstance(e, ast.ArrayIndex) and isinstance(e.base, ast.Symbol):
        return e.base
    return None


def _written_symbol(e: ast.Expr) -> ast.Symbol | None:
    if isinstance(e, ast.Assignment):
        return _base_symbol(e.left)
    if isinstance(e, ast.Crement):
        return _base_symbol(e.operand)
    return None


def _is_lvalue(e: ast.Expr) -> bool:
    return isinstance(e, ast.Symbol) or (
        isinstance(e, ast.ArrayIndex) and isinstance(e.base, ast.Symbol)
    )


# How a use of a variable counts: read, written, or both.
READ, WRITE, BOTH = 1, 2, 3


def _mark(decl: ast.VarDecl | None, mode: int) -> None:
    if decl is not None:
        decl.read = decl.read or bool(mode & READ)
        decl.written = decl.written or bool(mode & WRITE)


def mark_uses(e: ast.Expr, mode: int = READ) -> None:
    """Record which variables are read and which written (for the end-of-run display
    of globals written but never read)."""
    if isinstance(e, ast.Symbol):
        _mark(e.decl, mode)
    elif isinstance(e, ast.ArrayIndex):
        if isinstance(e.base, ast.Symbol):
            _mark(e.base.decl, mode)
        else:
            mark_uses(e.base)
        for i in e.indexes:
            if i is not None:
                mark_uses(i)
    elif isinstance(e, ast.Assignment):
        # stap counts x += 1 and x++ as writes only: such a global is still displayed
        mark_uses(e.left, WRITE)
        mark_uses(e.right)
    elif isinstance(e, ast.Crement):
        mark_uses(e.operand, WRITE)
    elif isinstance(e, deep.CHAINS):
        first, nodes = deep.spine(e)
        mark_uses(first)
        for node in nodes:
            mark_uses(node.right)  # type: ignore[attr-defined]
    else:
        for _, child in _expr_children(e):
            if isinstance(child, list):
                for c in child:
                    if c is not None:
                        mark_uses(c)
            elif isinstance(child, ast.Expr):
                mark_uses(child)


def mark_stmt_uses(s: ast.Stmt) -> None:
    for e, _ in _stmt_exprs(s):
        mark_uses(e)
    if isinstance(s, ast.Foreach):
        if isinstance(s.base, ast.Symbol):
            _mark(s.base.decl, READ)
        else:
            mark_uses(s.base)
        for k in s.keys:
            _mark(k.decl, WRITE)
        if s.value is not None:
            _mark(s.value.decl, WRITE)
    elif isinstance(s, ast.Delete):
        sym = _base_symbol(s.target)
        if sym is not None:
            _mark(sym.decl, BOTH)  # stap counts a delete as a read too
    elif isinstance(s, ast.TryBlock) and s.catch_var is not None:
        _mark(s.catch_var.decl, WRITE)


def _function_writes(functions: list[ast.FunctionDecl]) -> dict[int, set[str]]:
    """For each function, the globals it (or what it calls) may modify."""
    direct: dict[int, set[str]] = {}
    calls: dict[int, list[ast.FunctionDecl]] = {}
    for f in functions:
        names: set[str] = set()
        called: list[ast.FunctionDecl] = []
        if isinstance(f.body, ast.Block):
            for st in _walk_stmts(f.body):
                if isinstance(st, ast.Delete):
                    sym = _base_symbol(st.target)
                    if sym is not None and sym.decl is not None and sym.decl.is_global:
                        names.add(sym.decl.name)
                for e, _ in _stmt_exprs(st):
                    for sub in _walk_expr(e):
                        sym = _written_symbol(sub)
                        if sym is not None and sym.decl is not None and sym.decl.is_global:
                            names.add(sym.decl.name)
                        if isinstance(sub, ast.FunctionCall) and sub.decl is not None:
                            called.append(sub.decl)
        direct[id(f)] = names
        calls[id(f)] = called
    changed = True
    while changed:
        changed = False
        for f in functions:
            mine = direct[id(f)]
            for g in calls[id(f)]:
                extra = direct.get(id(g), set()) - mine
                if extra:
                    mine |= extra
                    changed = True
    return direct


def display_code(g: ast.VarDecl) -> str:
    """The ``end`` probe that prints global ``g`` (stap 4.8's formats: ``%#d`` for indexes
    and statistics, ``%d`` for a scalar number, ``"%#s"`` for strings)."""
    name = g.name
    lines = ["probe end {"]
    is_stats = g.type == STATS
    if g.arity:
        keys = [f"__idx{i}" for i in range(g.arity)]
        val = "" if is_stats else "__val = "
        lines.append(f"foreach ({val}[{', '.join(keys)}] in {name}-)")
        fmts = ['\\"%#s\\"' if t == STRING else "%#d" for t in g.index_types]
        head = f"{name}[{','.join(fmts)}]"
        args = "".join(f", {k}" for k in keys)
        ref = f"{name}[{', '.join(keys)}]"
        value = "__val"
    else:
        head, args, ref, value = name, "", name, name
        if is_stats:
            lines += [f"if (@count({name}) == 0)", f'printf("{name} @count=0x0\\n")', "else"]
    if is_stats:
        ops = ("count", "min", "max", "sum", "avg")
        fmt = head + "".join(f" @{op}=%#d" for op in ops)
        args += "".join(f", @{op}({ref})" for op in ops)
    elif g.type == STRING:
        fmt = head + '=\\"%#s\\"'
        args += f", {value}"
    else:
        fmt = head + "=%d"
        args += f", {value}"
    lines += [f'printf ("{fmt}\\n"{args})', "}"]
    return "\n".join(lines) + "\n"


def elaborate(
    script: ast.ScriptFile,
    *,
    hz: int = 250,
    diagnostics: DiagnosticPrinter | None = None,
    library: ast.ScriptFile | None = None,
    global_display: bool = True,
    elide: bool = True,
) -> Program:
    """Pass 2; raises :class:`SemanticError` with every problem found.  ``elide``: drop
    the assignments of kernel-tapset aliases that no handler reads."""
    elaborator = Elaborator(
        script,
        hz=hz,
        diagnostics=diagnostics,
        library=library,
        global_display=global_display,
        elide=elide,
    )
    return deep.run(elaborator.run, SemanticError, "Pass 2: analysis failed")


__all__ = ["DerivedProbe", "Elaborator", "Program", "elaborate"]

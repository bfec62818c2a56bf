"""Pass 3: a checked program translated to the source of a Python module.

The module defines ``build(S)``, which pass 5 calls with the running session.  Everything
the script declares lives in ``build``'s scope: globals are its local variables, each
probe handler and function a nested function, so the handlers reach them as fast as
Python reaches anything.  Arithmetic wraps at 64 bits, strings are ``bytes`` cut to
MAXSTRINGLEN - 1, and every operation that can fail names its place in the script, as
stap's ``ERROR: ... near ...`` does.

The output depends only on the program and the settings: translating the same script
with the same options gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..errors import TranslateError
from ..runtime import printf, stats
from ..runtime.tapset import TASK_HANDLE
from ..runtime.tapset import lookup as tapset_lookup
from . import ast, deep
from .ast import LONG, STATS, STRING
from .kfilter import kernel_filters
from .semantic import (
    EVENT_KINDS,
    DerivedProbe,
    Program,
    _expr_children,
    _stmt_exprs,
    _walk_expr,
    _walk_stmts,
)
from .source import DiagnosticPrinter
from .tracepoints import TraceField

ABI = 2
# The event tuple a kernel.trace handler gets (runtime/events.py): the probe's
# index, cpu, tid, pid, uid, gid, time (ns), comm, then the fields the handler reads.
EVENT_HEADER = 8
# a perf sample's tuple goes on with ip, user mode (0/1), the sample's address
PERF_CONTEXT = {"addr": "_ev[8]", "uaddr": "(_ev[8] if _ev[9] else 0)", "user_mode": "_ev[9]"}
EVENT_CONTEXT = {
    "cpu": "_ev[1]",
    "tid": "_ev[2]",
    "pid": "_ev[3]",
    "uid": "_ev[4]",
    "gid": "_ev[5]",
}

# The tapset's integer conversions (aux_syscalls.stp), written out where called.
_INLINE = {
    "__int32": "((({}) + 0x80000000 & 0xFFFFFFFF) - 0x80000000)",
    "__uint32": "(({}) & 0xFFFFFFFF)",
    "__short": "((({}) + 0x8000 & 0xFFFF) - 0x8000)",
    "__ushort": "(({}) & 0xFFFF)",
    "__long": "({})",
    "__ulong": "({})",
    "str": "{}",
}

_TAPSET = "/usr/share/systemtap/tapset/"
_CLOCK = f"identifier 'cpu_clock_ns' at {_TAPSET}linux/timestamp_monotonic.stp:42:10"
# Where an error inside a tapset function is reported: stap names the function's own
# declaration in SystemTap's tapset (each function sets its location on entry).
_USER_STRING = f"identifier 'user_string_n' at {_TAPSET}uconversions.stp:128:10"
TAPSET_WHERE = {
    "user_string": _USER_STRING,
    "user_string_n": _USER_STRING,
    "user_long": f"identifier 'user_long' at {_TAPSET}uconversions.stp:709:10",
    "user_int": f"identifier 'user_int' at {_TAPSET}uconversions.stp:650:10",
    "user_short": f"identifier 'user_short' at {_TAPSET}uconversions.stp:555:10",
    "user_char": f"identifier 'user_char' at {_TAPSET}uconversions.stp:509:10",
    "stringat": f"identifier 'stringat' at {_TAPSET}string.stp:51:10",
    "randint": f"identifier 'randint' at {_TAPSET}random.stp:5:10",
    "ctime": f"identifier 'ctime' at {_TAPSET}linux/ctime.stp:46:10",
    "tz_ctime": f"identifier 'ctime' at {_TAPSET}linux/ctime.stp:46:10",
    "cpu_clock_s": _CLOCK,
    "cpu_clock_ms": _CLOCK,
    "cpu_clock_us": _CLOCK,
    "cpu_clock_ns": _CLOCK,
    "get_loadavg_index": f"identifier 'get_loadavg_index' at {_TAPSET}linux/loadavg.stp:35:10",
    "matched": f"identifier 'matched' at {_TAPSET}regex.stp:36:10",
    "ngroups": f"identifier 'ngroups' at {_TAPSET}regex.stp:93:10",
}


@dataclass
class Settings:
    """What ``-D`` sets at translation time, with SystemTap's defaults."""

    MAXACTION: int = 1000
    MAXACTION_INTERRUPTIBLE: int | None = None
    MAXMAPENTRIES: int = 2048
    MAXSTRINGLEN: int = 512
    MAXNESTING: int | None = None  # None: computed from the script's call graph
    MAXERRORS: int = 0
    MAXSKIPPED: int = 100
    HIST_ELISION: int = stats.HIST_ELISION
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def maxaction_interruptible(self) -> int:
        if self.MAXACTION_INTERRUPTIBLE is not None:
            return self.MAXACTION_INTERRUPTIBLE
        return self.MAXACTION * 10


# What CPython's compiler accepts of the module is bounded: 200 nested parentheses, about
# a thousand nested expressions (its recursion), 100 levels of indentation and 20 nested
# loops and try blocks.  So:
# * an expression more than FLAT_FROM nodes deep (a link of a chain counts: a + b + c is
#   three deep) is written as a flat sequence of statements, one operation each, in the
#   order the nested form evaluates (CodeGenerator.flat);
# * an else-if chain of more than FLAT_CHAIN links is written as a sequence of ifs
#   guarded by a flag, not as nested elses;
# * a compound statement (if, loop, try) OUTLINE_FROM levels deep, or inside
#   OUTLINE_BLOCKS loops and try blocks, and the flat statements of an expression that
#   reach that depth (conditional operators in conditional operators), are written as
#   a function of their own, defined at the top of the handler (CodeGenerator.outline,
#   outline_expr), where nesting starts over;
# * so MAX_INDENT and MAX_BLOCKS are never reached: past them, pass 3 would refuse the
#   script with a one-line TranslateError rather than write what CPython refuses.
FLAT_FROM = 40
FLAT_CHAIN = 16
OUTLINE_FROM = 32
OUTLINE_BLOCKS = 10
MAX_INDENT = 90
MAX_BLOCKS = 18
# What an outlined statement's function returns when control leaves it other than at
# its end: the caller does the same (or returns the same, if it is outlined too).
_BREAK, _CONTINUE, _RETURN = 1, 2, 3
_OUTLINED = 3  # the depth of an outlined function's statements


@dataclass(eq=False)
class _Temp(ast.Expr):
    """A value already computed into a local variable of the generated function (by a
    flat sequence of statements): what pass 3 puts in place of an operand it has
    written out before its operator."""

    name: str


# Where an operand is: an object and the name of its attribute, or a list and an index.
_Slot = tuple[Any, Any]
_LITERALS = (ast.NumberLit, ast.StringLit, _Temp)
_FLAT_ONLY = (ast.Logical, ast.Ternary, *deep.CHAINS)
_COMPOUND = (ast.If, ast.For, ast.Foreach, ast.TryBlock)


_LEAVES = frozenset([ast.NumberLit, ast.StringLit, ast.Symbol])
_PAIRS = frozenset([ast.Binary, ast.Logical, ast.Comparison, ast.Concat, ast.Assignment])


def _deeper_than(e: ast.Expr, limit: int) -> bool:
    """Is the tree of ``e`` more than ``limit`` nodes deep (every node counted)?"""
    stack = [(e, 1)]
    while stack:
        x, depth = stack.pop()
        if depth > limit:
            return True
        cls = type(x)
        if cls in _LEAVES:
            continue
        if cls in _PAIRS:
            stack.append((x.left, depth + 1))  # type: ignore[attr-defined]
            stack.append((x.right, depth + 1))  # type: ignore[attr-defined]
            continue
        for _, child in _expr_children(x):
            if isinstance(child, list):
                stack.extend((c, depth + 1) for c in child if c is not None)
            elif isinstance(child, ast.Expr):
                stack.append((child, depth + 1))
    return False


def _index_slots(e: ast.Expr) -> list[_Slot]:
    if not isinstance(e, ast.ArrayIndex):
        return []
    return [(e.indexes, i) for i, x in enumerate(e.indexes) if x is not None]


def _slots(e: ast.Expr) -> list[_Slot]:
    """Where the operands of ``e`` are (an object and attribute name, or a list and an
    index), in the order the code pass 3 writes for ``e`` evaluates them; lvalues and
    statistics are not operands, the keys in them are."""
    if isinstance(e, ast.Unary):
        return [(e, "operand")]
    if isinstance(e, ast.RegexMatch):
        return [(e, "left")]
    if isinstance(e, ast.Crement):
        return _index_slots(e.operand)
    if isinstance(e, ast.Assignment):
        return [*_index_slots(e.left), (e, "right")]
    if isinstance(e, ast.ArrayIndex):
        if isinstance(e.base, ast.HistOp):
            return [*_index_slots(e.base.stat), *_index_slots(e)]
        return _index_slots(e)
    if isinstance(e, ast.ArrayIn):
        return _index_slots(e.index)
    if isinstance(e, ast.FunctionCall):
        return [(e.args, i) for i in range(len(e.args))]
    if isinstance(e, ast.PrintFormat):
        if e.hist is not None:
            return _index_slots(e.hist.stat)
        return [(e.args, i) for i in range(len(e.args))]
    if isinstance(e, ast.StatOp):
        return _index_slots(e.stat)
    return []


def _get(holder: Any, key: Any) -> ast.Expr:
    if isinstance(holder, list):
        return holder[key]  # type: ignore[no-any-return]
    return getattr(holder, key)  # type: ignore[no-any-return]


def _put(holder: Any, key: Any, value: ast.Expr) -> None:
    if isinstance(holder, list):
        holder[key] = value
    else:
        setattr(holder, key, value)


def _default(t: str) -> str:
    return 'b""' if t == STRING else "0"


def _where(tok: object) -> str:
    """The ``near ...`` text of a token, as a Python literal."""
    return repr(str(tok))


class _Function:
    """Per generated Python function: temporaries and the nonlocals it rebinds."""

    def __init__(self) -> None:
        self.temps = 0
        self.nonlocals: set[str] = set()
        # statements written as functions of their own (see CodeGenerator.outline), and
        # the locals of the handler they rebind
        self.outlined: list[tuple[str, list[str]]] = []
        self.local_names: list[str] = []

    def temp(self) -> str:
        self.temps += 1
        return f"_t{self.temps}"


class CodeGenerator:
    def __init__(
        self,
        program: Program,
        settings: Settings,
        module_name: str,
        diagnostics: DiagnosticPrinter | None = None,
    ) -> None:
        self.p = program
        self.diag = diagnostics or DiagnosticPrinter()
        self.errors: list[str] = []
        self.counting = True
        self.pending = 0
        self.loop_depth = 0
        self.dispatch_names: dict[int, str] = {}  # id(first overload) -> dispatcher
        self.dispatched: set[int] = set()  # functions only called through a dispatcher
        self.groups: list[list[ast.FunctionDecl]] = []  # set by _plan_dispatch
        self.settings = settings
        self.name = module_name
        self.msl = settings.MAXSTRINGLEN - 1
        self.consts: list[str] = []  # lines of the prelude (formats, regexes)
        self._const_index: dict[tuple[str, bytes], str] = {}
        self.fn = _Function()
        self.names: dict[int, str] = {}  # id(VarDecl) -> python name
        self._used_names: set[str] = set()
        self.function_names: dict[int, str] = {}
        self.in_probe = True
        self.blocks = 0  # loops and try blocks around the code being written
        self.py_loops = 0  # loops around it in the Python function being written
        self.outlining = 0  # outlined statements being written (one in another)
        self.leaving: set[int] = set()  # how control may leave the one being written
        self.outlined_now: ast.Stmt | None = None
        self.maxnesting = (
            settings.MAXNESTING if settings.MAXNESTING is not None else maxnesting(program)
        )
        self.actions = ActionCounter(self.dispatched)
        # in a kernel.trace handler: where each field it reads is in the event tuple
        self.ev_fields: dict[str, int] | None = None
        self.pp_text: bytes | None = None  # ... and what pp() is there
        self.perf_probe = False  # ... in a perf (sampling) handler

    def pass3_error(self, message: str, tok: object) -> None:
        """What stap finds only when it translates (pass 3)."""
        text = self.diag.semantic_error(message, tok)  # type: ignore[arg-type]
        if text:
            self.errors.append(text)

    # ------------------------------------------------------------------ names
    def var(self, decl: ast.VarDecl) -> str:
        name = self.names.get(id(decl))
        if name is not None:
            return name
        prefix = "g_" if decl.is_global else "l_"
        base = prefix + decl.name.replace("$", "_S")
        name = base
        n = 1
        while decl.is_global and name in self._used_names:
            n += 1
            name = f"{base}_{n}"
        self._used_names.add(name)
        self.names[id(decl)] = name
        return name

    def const(self, kind: str, value: bytes) -> str:
        key = (kind, value)
        if key in self._const_index:
            return self._const_index[key]
        name = f"_{kind}{len(self._const_index)}"
        self._const_index[key] = name
        if kind == "F":
            self.consts.append(f"{name} = _parse_format({value!r})")
        else:
            self.consts.append(f"{name} = _ops.compile_regex({value!r})")
        return name

    # ------------------------------------------------------------------ module
    def generate(self) -> str:
        out: list[str] = []
        funcs: list[str] = []
        taken: set[str] = set()
        for i, f in enumerate(self.p.functions):
            name = f"f_{f.name}" if f.name.isidentifier() else f"f_{i}"
            if name in taken:  # an overload (same name, other arity)
                name = f"{name}_{len(f.params)}_{i}"
            taken.add(name)
            self.function_names[id(f)] = name
        self._plan_dispatch()
        for f in self.p.functions:
            funcs += self.function(f)
        for group in self.groups:
            if id(group[0]) in self.dispatch_names:
                funcs += self.dispatcher(group)
        handlers: list[str] = []
        body_names: dict[int, str] = {}
        for probe in self.p.probes:
            if id(probe.body) not in body_names:
                body_names[id(probe.body)] = f"p_{len(body_names)}"
                handlers += self.probe_body(probe, body_names[id(probe.body)])
        conds: list[str] = []
        entries: list[str] = []
        for i, probe in enumerate(self.p.probes):
            cond = "None"
            if probe.condition is not None:
                self.fn = _Function()
                self.in_probe = True
                test_code: list[str] = []
                test = self.cond_at(probe.condition, test_code, 2)
                conds.append(f"    def c_{i}():")
                conds += self.outlined_defs(sorted(self.fn.nonlocals | {"_act"}))
                conds += test_code
                conds.append(f"        return {test}")
                cond = f"c_{i}"
            s = probe.spec
            kernel = ""
            if s.perf is not None:
                kernel = f", perf={s.perf!r}"
            if s.event is not None:
                fields = tuple((f.name, f.kind) for f in self.p.body_fields.get(id(probe.body), ()))
                filters = tuple(kernel_filters(probe.body)) if probe.condition is None else ()
                kernel = f", event={s.event.text!r}, fields={fields!r}, filters={filters!r}"
            entries.append(
                f"        _rt.ProbeEntry({s.kind!r}, {s.text!r}, {probe.origin!r}, "
                f"{s.sequence}, {s.interval_ns}, {s.randomize_ns}, {s.jiffies}, {s.hz}, "
                f"{body_names[id(probe.body)]}, {cond}{kernel}),"
            )
        if self.errors:
            raise TranslateError(
                "".join(self.errors) + "Pass 3: translation failed.  [man error::pass3]"
            )
        st = self.settings
        out.append(f'"""SystemTap python-runtime module {self.name}.')
        out.append("")
        out.append(f"Translated by stapserver {__version__} from {self.p.script.source_name};")
        out.append("pass 5 runs it (pystap, stap-client). Edit the script, not this file.")
        out.append('"""')
        out.append("")
        out.append("from stapserver.runtime import modsupport as _rt")
        out.append("from stapserver.runtime import ops as _ops")
        out.append("from stapserver.runtime.printf import parse_format as _parse_format")
        out.append("")
        out.append(f"ABI = {ABI}")
        context = kernel_context(self.p)
        if context:
            out.append(f"KERNEL_CONTEXT = {context!r}")
        if light_header(self.p):
            out.append("KERNEL_LIGHT = True  # no handler reads uid, gid, time or comm")
        out.append(f"NAME = {self.name!r}")
        out.append(
            f"SETTINGS = {{'MAXACTION': {st.MAXACTION}, "
            f"'MAXACTION_INTERRUPTIBLE': {st.maxaction_interruptible}, "
            f"'MAXMAPENTRIES': {st.MAXMAPENTRIES}, 'MAXSTRINGLEN': {st.MAXSTRINGLEN}, "
            f"'MAXNESTING': {self.maxnesting}, 'MAXERRORS': {st.MAXERRORS}, "
            f"'MAXSKIPPED': {st.MAXSKIPPED}, 'HIST_ELISION': {st.HIST_ELISION}}}"
        )
        out.append("")
        out.append("")
        out.append("def build(S):")
        out.append("    _wrap = _ops.wrap")
        out.append("    _div = _ops.div")
        out.append("    _mod = _ops.mod")
        out.append("    _ScriptError = _ops.ScriptError")
        out.append("    _ActionLimit = _ops.ActionLimitError")
        out.append("    _out = S.out")
        out.append("    _TS = S.tapset")
        out.append("    _act = 0")
        out.append("    _depth = 0")
        for line in self.consts:
            out.append("    " + line)
        for g in self.p.globals:
            out.append("    " + self.global_init(g))
        for slot in range(self.p.entry_slots):
            out.append(f"    _entry{slot} = {{}}  # @entry values by thread")
        out.append("")
        out += funcs
        out += handlers
        out += conds
        out.append("    return _rt.Program([")
        out += entries
        out.append("    ])")
        return "\n".join(out) + "\n"

    def global_init(self, g: ast.VarDecl) -> str:
        name = self.var(g)
        limit = g.maxsize if g.maxsize is not None else self.settings.MAXMAPENTRIES
        declared = g.maxsize is not None
        if g.arity > 0:
            if g.type == STATS:
                hist = self._hist_spec(g)
                return (
                    f"{name} = _ops.StatArray({g.name!r}, {limit}, {g.wrap}, {hist}, "
                    f"{g.bit_shift or 0}, {declared})"
                )
            return f"{name} = _ops.Array({g.name!r}, {limit}, {g.wrap}, {declared})"
        if g.type == STATS:
            return f"{name} = _rt.Stat({self._hist_spec(g)}, bit_shift={g.bit_shift or 0})"
        if g.init is not None:
            if isinstance(g.init, ast.StringLit):
                return f"{name} = {g.init.value[: self.msl]!r}"
            return f"{name} = {g.init.value}"
        return f"{name} = {_default(g.type)}"

    @staticmethod
    def _hist_spec(g: ast.VarDecl) -> str:
        if not g.hist_specs:
            return "None"
        kind, params = g.hist_specs[0]
        if kind == "log":
            return "_rt.HistSpec.log()"
        return f"_rt.HistSpec.linear({params[0]}, {params[1]}, {params[2]})"

    # ------------------------------------------------------------------ functions
    def _header(self, lines: list[str], head: str, body: list[str]) -> None:
        lines.append(head)
        nl = sorted(self.fn.nonlocals | {"_act"})
        lines.append("        nonlocal " + ", ".join(nl))
        if self.fn.outlined and not self.in_probe:
            lines.append("        _rv = None")
        lines += self.outlined_defs(nl)
        lines += body

    def outlined_defs(self, shared: list[str]) -> list[str]:
        """The functions of the outlined statements and expressions: closures over the
        handler's variables (``shared``, its locals, and ``_rv`` in a function)."""
        names = set(shared) | set(self.fn.local_names)
        if not self.in_probe:
            names.add("_rv")
        lines: list[str] = []
        for name, code in self.fn.outlined:
            lines.append(f"        def {name}():")
            lines.append("            nonlocal " + ", ".join(sorted(names)))
            lines += code
            lines.append("            return 0")
        return lines

    def function(self, f: ast.FunctionDecl) -> list[str]:
        self.fn = _Function()
        self.in_probe = False
        self.loop_depth = 0
        self.blocks = 1  # the body's try ... finally
        self.fn.nonlocals.add("_depth")
        self.py_loops = self.outlining = 0
        self.fn.local_names = [self.var(decl) for decl in f.locals.values()]
        params = [self.var(f.locals[p.name]) for p in f.params]
        body: list[str] = []
        where = _where(f.tok)
        body.append(f"        if _depth >= {self.maxnesting}:")
        body.append(f"            raise _ScriptError('MAXNESTING exceeded', {where})")
        static = self.actions.function_count(f)
        if static is not None:
            # a loop-free function is checked once, on entry, as stap does
            body.append(f"        if _act < {static}:")
            body.append(f"            raise _ActionLimit('MAXACTION exceeded', {where})")
        self.counting = static is None
        self.pending = 0
        for name, decl in f.locals.items():
            if name not in {p.name for p in f.params}:
                body.append(f"        {self.var(decl)} = {_default(decl.type)}")
        body.append("        _depth += 1")
        body.append("        try:")
        assert isinstance(f.body, ast.Block)
        before = len(body)
        self.stmt(f.body, body, 3)
        self.record(0, _stmt_tok(f.body), body, 3, update=True)
        if f.type in (LONG, STRING):
            body.append(f"            return {_default(f.type)}")
        elif len(body) == before:
            body.append("            pass")
        body.append("        finally:")
        body.append("            _depth -= 1")
        lines: list[str] = []
        self._header(lines, f"    def {self.function_names[id(f)]}({', '.join(params)}):", body)
        lines.append("")
        return lines

    def dispatcher(self, group: list[ast.FunctionDecl]) -> list[str]:
        """Overloads of one name and arity, tried in order: ``next`` in one of them
        passes the call to the next (stap's function overloading)."""
        first = group[0]
        names = [self.function_names[id(f)] for f in group]
        params = [f"a{i}" for i in range(len(first.params))]
        args = ", ".join(params)
        lines = [f"    def {self.dispatch_names[id(first)]}({', '.join([*params, '_where'])}):"]
        for name in names:
            lines.append("        try:")
            lines.append(f"            return {name}({args})")
            lines.append("        except _rt.NextOverload:")
            lines.append("            pass")
        lines.append("        raise _ScriptError('all functions exhausted', _where)")
        lines.append("")
        return lines

    def probe_body(self, probe: DerivedProbe, name: str) -> list[str]:
        self.fn = _Function()
        self.in_probe = True
        self.loop_depth = 0
        self.blocks = 0
        body: list[str] = ["        _act = _budget"]
        static = self.actions.stmt_count(probe.body)
        if static is not None:
            # a loop-free handler is checked once, on entry, with no location
            body.append(f"        if _act < {static}:")
            body.append("            raise _ActionLimit('MAXACTION exceeded', '')")
        self.counting = static is None
        self.pending = 0
        self.py_loops = self.outlining = 0
        for decl in self.p.body_locals.get(id(probe.body), {}).values():
            body.append(f"        {self.var(decl)} = {_default(decl.type)}")
            self.fn.local_names.append(self.var(decl))
        params = "_budget"
        self.ev_fields = None
        if probe.spec.kind in EVENT_KINDS:
            params = "_budget, _ev"
            fields = self.p.body_fields.get(id(probe.body), [])
            self.ev_fields = {f.name: EVENT_HEADER + i for i, f in enumerate(fields)}
            self.pp_text = probe.spec.text.encode()
            self.perf_probe = probe.spec.kind == "perf"
        self.stmt(probe.body, body, 2)
        self.record(0, _stmt_tok(probe.body), body, 2, update=True)
        self.ev_fields = self.pp_text = None
        self.perf_probe = False
        lines: list[str] = []
        self._header(lines, f"    def {name}({params}):", body)
        lines.append("")
        return lines

    # ------------------------------------------------------------------ actions
    def record(self, n: int, tok: object, out: list[str], depth: int, update: bool = False) -> None:
        """stap's ``record_actions``: queue ``n`` actions; at the end of a basic block
        (``update``), or once ten are queued, take them from the budget and check it."""
        if not self.counting:
            return
        self.pending += n
        if (update and self.pending > 0) or self.pending >= 10:
            pad = "    " * depth
            out.append(f"{pad}_act -= {self.pending}")
            out.append(f"{pad}if _act <= 0:")
            out.append(f"{pad}    raise _ActionLimit('MAXACTION exceeded', {_where(tok)})")
            self.pending = 0

    def record_calls(self, exprs: list[ast.Expr], out: list[str], depth: int) -> None:
        """After calls to loop-free functions, their statements count at the call site."""
        if not self.counting:
            return
        for e in exprs:
            for call in _calls_in(e):
                count = self.actions.call_count(call)
                if count is not None:
                    self.record(count, call.tok, out, depth, update=True)

    # ------------------------------------------------------------------ statements
    def sub(self, s: ast.Stmt, out: list[str], depth: int) -> None:
        """A statement as the body of an if or a loop, and the flush at its end."""
        before = len(out)
        self.stmt(s, out, depth)
        self.record(0, _stmt_tok(s), out, depth, update=True)
        if len(out) == before:
            out.append("    " * depth + "pass")

    def check_indent(self, depth: int, tok: object) -> None:
        if depth > MAX_INDENT:
            raise TranslateError(
                "Pass 3: translation failed: statements nested too deeply for the python "
                f"runtime (more than {MAX_INDENT - 3} levels of if, for, while, foreach, try "
                f"and conditional operators): {tok}"
            )

    def enter_block(self, tok: object) -> None:
        """One more loop or try block around the code being written (CPython compiles
        at most 20 nested)."""
        self.blocks += 1
        if self.blocks > MAX_BLOCKS:
            raise TranslateError(
                "Pass 3: translation failed: loops and try blocks nested too deeply for the "
                f"python runtime (more than {MAX_BLOCKS}): {tok}"
            )

    def stmt(self, s: ast.Stmt, out: list[str], depth: int) -> None:
        pad = "    " * depth
        if isinstance(s, ast.Block):
            for sub in s.body:
                self.stmt(sub, out, depth)
            return
        if (
            isinstance(s, _COMPOUND)
            and (depth >= OUTLINE_FROM or self.blocks >= OUTLINE_BLOCKS)
            and s is not self.outlined_now
        ):
            self.outline(s, out, depth)
            return
        self.outlined_now = None
        self.check_indent(depth, s.tok)
        if isinstance(s, ast.NullStmt):
            return
        elif isinstance(s, ast.ExprStmt):
            self.expr_stmt_at(s.expr, out, depth)
            self.record_calls([s.expr], out, depth)
            self.record(1, s.tok, out, depth)
        elif isinstance(s, ast.If):
            chain = list(deep.else_chain(s))
            if len(chain) > FLAT_CHAIN:
                self.if_chain(chain, out, depth)
                return
            self.record(1, s.tok, out, depth, update=True)
            self.record_calls([s.cond], out, depth)
            cond = self.cond_at(s.cond, out, depth)
            out.append(f"{pad}if {cond}:")
            self.sub(s.then, out, depth + 1)
            if s.otherwise is not None:
                out.append(f"{pad}else:")
                self.sub(s.otherwise, out, depth + 1)
        elif isinstance(s, ast.For):
            self.enter_block(s.tok)
            self.for_loop(s, out, depth)
            self.blocks -= 1
        elif isinstance(s, ast.Foreach):
            self.enter_block(s.tok)
            self.foreach(s, out, depth)
            self.blocks -= 1
        elif isinstance(s, ast.Return):
            if s.value is None:
                self.record(1, s.tok, out, depth, update=True)
                self.emit_return(None, out, depth)
            else:
                if self.is_deep(s.value):
                    value = self.flat(s.value, out, depth)
                else:
                    value = self.stored(s.value)
                if self.counting:
                    t = self.fn.temp()
                    out.append(f"{pad}{t} = {value}")
                    self.record_calls([s.value], out, depth)
                    self.record(1, s.tok, out, depth, update=True)
                    self.emit_return(t, out, depth)
                else:
                    self.emit_return(value, out, depth)
        elif isinstance(s, ast.Next):
            self.record(1, s.tok, out, depth, update=True)
            if self.in_probe:
                self.emit_return(None, out, depth)
            else:
                out.append(f"{pad}raise _rt.NextOverload()")
        elif isinstance(s, ast.Break | ast.Continue):
            word = "break" if isinstance(s, ast.Break) else "continue"
            if not self.loop_depth:
                self.pass3_error(f"cannot '{word}' outside loop", s.tok)
            self.record(1, s.tok, out, depth, update=True)
            if self.py_loops or not self.outlining:
                out.append(f"{pad}{word}")
            else:  # out of an outlined statement, to the loop around its call
                code = _BREAK if word == "break" else _CONTINUE
                self.leaving.add(code)
                out.append(f"{pad}return {code}")
        elif isinstance(s, ast.Delete):
            saved = []
            if self.is_deep(s.target):
                saved = self.spill(_index_slots(s.target), out, depth)
            try:
                out.extend(pad + line for line in self.delete(s.target))
            finally:
                self.unspill(saved)
            self.record(1, s.tok, out, depth)
        elif isinstance(s, ast.TryBlock):
            self.enter_block(s.tok)
            self.enter_block(s.tok)  # the try, then the except clause and its name
            err = self.fn.temp()
            self.record(0, s.tok, out, depth, update=True)
            out.append(f"{pad}try:")
            self.sub(s.body, out, depth + 1)
            out.append(f"{pad}except _ScriptError as {err}:")
            out.append(f"{pad}    if not {err}.catchable:")
            out.append(f"{pad}        raise")
            if s.catch_var is not None and s.catch_var.decl is not None:
                var = self.assign_name(s.catch_var.decl)
                out.append(f"{pad}    {var} = {err}.message.encode()[:{self.msl}]")
            self.record(1, s.tok, out, depth + 1, update=True)
            self.sub(s.handler, out, depth + 1)
            self.blocks -= 2
        else:
            raise TypeError(f"no translation for {type(s).__name__}")

    def emit_return(self, value: str | None, out: list[str], depth: int) -> None:
        """``return`` from the handler (with ``value``, in a function): in an outlined
        statement, through the value the caller returns (``_rv``) and _RETURN."""
        pad = "    " * depth
        if not self.outlining:
            out.append(f"{pad}return" if value is None else f"{pad}return {value}")
            return
        if not self.in_probe:
            out.append(f"{pad}_rv = {'None' if value is None else value}")
        self.leaving.add(_RETURN)
        out.append(f"{pad}return {_RETURN}")

    def outline(self, s: ast.Stmt, out: list[str], depth: int) -> None:
        """A compound statement too deep for Python's nesting, as a function of its
        own (a closure defined at the top of the handler, sharing its variables), called
        here: its statements start again at the handler's depth, in no loop or try
        block.  Control that leaves it (break, continue, return) is returned as a code
        the call site acts on."""
        slot = len(self.fn.outlined)  # numbered in the order they are entered
        name = f"_o{slot}"
        self.fn.outlined.append((name, []))
        saved = (self.py_loops, self.blocks, self.leaving)
        self.py_loops, self.blocks, self.leaving = 0, 0, set()
        self.outlining += 1
        code: list[str] = []
        self.outlined_now = s  # written here: not outlined again
        try:
            self.stmt(s, code, _OUTLINED)
        finally:
            self.outlining -= 1
            leaving = self.leaving
            self.py_loops, self.blocks, self.leaving = saved
        self.fn.outlined[slot] = (name, code)
        pad = "    " * depth
        if not leaving:
            out.append(f"{pad}{name}()")
            return
        result = self.fn.temp()
        out.append(f"{pad}{result} = {name}()")
        for how in sorted(leaving):
            out.append(f"{pad}if {result} == {how}:")
            if how == _RETURN and not self.outlining:
                out.append(f"{pad}    return{'' if self.in_probe else ' _rv'}")
            elif how == _RETURN:
                self.leaving.add(how)
                out.append(f"{pad}    return {how}")
            elif self.py_loops or not self.outlining:
                out.append(f"{pad}    {'break' if how == _BREAK else 'continue'}")
            else:
                self.leaving.add(how)
                out.append(f"{pad}    return {how}")

    def if_chain(self, chain: list[ast.If], out: list[str], depth: int) -> None:
        """A long else-if chain: the ifs one after the other, each guarded by a flag that
        the branch taken clears (nested elses would nest as deep as the chain is long)."""
        pad = "    " * depth
        pending = self.fn.temp()
        out.append(f"{pad}{pending} = 1")
        for node in chain:
            out.append(f"{pad}if {pending}:")
            self.record(1, node.tok, out, depth + 1, update=True)
            self.record_calls([node.cond], out, depth + 1)
            cond = self.cond_at(node.cond, out, depth + 1)
            out.append(f"{pad}    if {cond}:")
            out.append(f"{pad}        {pending} = 0")
            self.sub(node.then, out, depth + 2)
        last = chain[-1].otherwise
        if last is not None:
            out.append(f"{pad}if {pending}:")
            self.sub(last, out, depth + 1)

    def for_loop(self, s: ast.For, out: list[str], depth: int) -> None:
        pad = "    " * depth
        if s.init is not None:
            self.expr_stmt_at(s.init.expr, out, depth)
            self.record_calls([s.init.expr], out, depth)
            self.record(1, s.init.tok, out, depth)
        self.record(1, s.tok, out, depth, update=True)
        first = None
        if s.step is not None and _has_continue(s.body):
            first = self.fn.temp()
            out.append(f"{pad}{first} = True")
        out.append(f"{pad}while True:")
        inner = pad + "    "
        if first is not None and s.step is not None:
            out.append(f"{inner}if {first}:")
            out.append(f"{inner}    {first} = False")
            out.append(f"{inner}else:")
            self.expr_stmt_at(s.step.expr, out, depth + 2)
        self.record(1, s.tok, out, depth + 1)
        self.record_calls([s.cond], out, depth + 1)
        cond = self.cond_at(s.cond, out, depth + 1)
        out.append(f"{inner}if not {cond}:")
        out.append(f"{inner}    break")
        self.loop_depth += 1
        self.py_loops += 1
        self.sub(s.body, out, depth + 1)
        self.py_loops -= 1
        self.loop_depth -= 1
        if s.step is not None:
            if first is None:
                self.expr_stmt_at(s.step.expr, out, depth + 1)
            # stap counts the increment once, after the loop (where its code is emitted)
            self.record(1, s.step.tok, out, depth)

    def foreach(self, s: ast.Foreach, out: list[str], depth: int) -> None:
        saved = []
        stat = s.base.stat if isinstance(s.base, ast.HistOp) else None
        if self.is_deep(s.limit, stat, *s.slice):
            slots = _index_slots(stat) if stat is not None else []
            if s.limit is not None:
                slots.append((s, "limit"))
            slots += [(s.slice, i) for i, x in enumerate(s.slice) if x is not None]
            saved = self.spill(slots, out, depth)
        try:
            self._foreach(s, out, depth)
        finally:
            self.unspill(saved)

    def _foreach(self, s: ast.Foreach, out: list[str], depth: int) -> None:
        pad = "    " * depth
        key = self.fn.temp()
        limit = self.expr(s.limit) if s.limit is not None else "None"
        keys = [self.assign_name(k.decl) for k in s.keys if k.decl is not None]
        self.loop_depth += 1
        if isinstance(s.base, ast.HistOp):
            stat = self.stat_ref(s.base.stat)
            self.record(1, s.tok, out, depth, update=True)
            out.append(f"{pad}for {key} in _rt.hist_keys({stat}, {limit}):")
            out.append(f"{pad}    {keys[0]} = {key}")
            if s.value is not None and s.value.decl is not None:
                val = self.assign_name(s.value.decl)
                out.append(f"{pad}    {val} = {stat}.hist_bucket({key})")
            self.py_loops += 1
            self.stmt(s.body, out, depth + 1)
            self.py_loops -= 1
            self.record(1, _stmt_tok(s.body), out, depth + 1, update=True)
            self.loop_depth -= 1
            return
        decl = s.base.decl
        assert decl is not None
        arr = self.var(decl)
        pattern = "None"
        if s.slice:
            pattern = (
                "(" + "".join(("None" if x is None else self.expr(x)) + ", " for x in s.slice) + ")"
            )
        agg = repr(s.sort_aggregate)
        keys_var = self.fn.temp()
        out.append(
            f"{pad}{keys_var} = _ops.foreach_keys({arr}, {s.sort_column}, {s.sort_direction}, "
            f"{agg}, {limit}, {pattern})"
        )
        self.record(1, s.tok, out, depth, update=True)
        out.append(f"{pad}for {key} in {keys_var}:")
        self.record(1, s.tok, out, depth + 1)
        if len(keys) == 1:
            out.append(f"{pad}    {keys[0]} = {key}")
        else:
            out.append(f"{pad}    {', '.join(keys)} = {key}")
        if s.value is not None and s.value.decl is not None:
            val = self.assign_name(s.value.decl)
            if decl.type == STATS:
                out.append(f"{pad}    {val} = {arr}.stat({key})")
            else:
                out.append(f"{pad}    {val} = {arr}.get({key}, {_default(decl.type)})")
        self.py_loops += 1
        self.sub(s.body, out, depth + 1)
        self.py_loops -= 1
        self.loop_depth -= 1

    def delete(self, target: ast.Expr) -> list[str]:
        if isinstance(target, ast.Symbol):
            decl = target.decl
            assert decl is not None
            name = self.var(decl)
            if decl.arity > 0 or decl.type == STATS:
                return [f"{name}.clear()"]
            return [f"{self.assign_name(decl)} = {_default(decl.type)}"]
        assert isinstance(target, ast.ArrayIndex) and isinstance(target.base, ast.Symbol)
        decl = target.base.decl
        assert decl is not None
        arr = self.var(decl)
        if any(i is None for i in target.indexes):
            pattern = (
                "("
                + "".join(("None" if x is None else self.expr(x)) + ", " for x in target.indexes)
                + ")"
            )
            return [f"_ops.delete_slice({arr}, {pattern})"]
        return [f"{arr}.pop({self.key(target)}, None)"]

    # ------------------------------------------------------------------ expressions
    def assign_name(self, decl: ast.VarDecl) -> str:
        name = self.var(decl)
        if decl.is_global:
            self.fn.nonlocals.add(name)
        return name

    def key(self, e: ast.ArrayIndex) -> str:
        parts = [self.stored(i) for i in e.indexes if i is not None]
        if len(parts) == 1:
            return parts[0]
        return "(" + ", ".join(parts) + ")"

    def stat_ref(self, e: ast.Expr) -> str:
        if isinstance(e, ast.Symbol):
            assert e.decl is not None
            return self.var(e.decl)
        assert isinstance(e, ast.ArrayIndex) and isinstance(e.base, ast.Symbol)
        assert e.base.decl is not None
        return f"{self.var(e.base.decl)}.stat({self.key(e)})"

    def combine(self, op: str, left: str, right: str, where: str) -> str:
        if op in ("+", "-", "*"):
            return f"_wrap({left} {op} {right})"
        if op == "/":
            return f"_div({left}, {right}, {where})"
        if op == "%":
            return f"_mod({left}, {right}, {where})"
        if op == "<<":
            return f"_ops.shl({left}, {right})"
        if op == ">>":
            return f"_ops.shr({left}, {right})"
        if op == ">>>":
            return f"_ops.ushr({left}, {right})"
        if op in ("&", "|", "^"):
            return f"({left} {op} {right})"
        if op == ".":
            return f"({left} + {right})[:{self.msl}]"
        raise ValueError(op)

    def expr_stmt(self, e: ast.Expr) -> list[str]:
        """An expression evaluated for its effect: the statement form."""
        if isinstance(e, ast.Assignment):
            return self.assignment(e, as_stmt=True).split("\n")
        if isinstance(e, ast.Crement):
            return [self.crement(e, as_stmt=True)]
        if isinstance(e, ast.PrintFormat) and not e.to_string:
            return [self.print_format(e)]
        if isinstance(e, ast.FunctionCall) and e.builtin is not None:
            return [self.builtin_call(e, as_stmt=True)]
        return [self.expr(e)]

    def assignment(self, e: ast.Assignment, as_stmt: bool = False) -> str:
        left = e.left
        op = e.op
        if op == "<<<":
            value = self.expr(e.right)
            if isinstance(left, ast.Symbol):
                assert left.decl is not None
                stat = self.var(left.decl)
                if as_stmt:
                    return f"{stat}.add({value})"
                return f"_rt.stat_add({stat}, {value})"
            assert isinstance(left, ast.ArrayIndex) and isinstance(left.base, ast.Symbol)
            assert left.base.decl is not None
            arr = self.var(left.base.decl)
            return f"{arr}.add({self.key(left)}, {value}, {_where(left.tok)})"
        if isinstance(left, ast.Symbol):
            assert left.decl is not None
            name = self.assign_name(left.decl)
            right = self.stored(e.right)
            if op == "=":
                value = right
                if left.decl.type == STRING and not isinstance(e.right, ast.StringLit):
                    value = right
            else:
                value = self.combine(op[:-1], name, right, _where(e.right.tok))
            if as_stmt:
                return f"{name} = {value}"
            return f"({name} := {value})"
        assert isinstance(left, ast.ArrayIndex) and isinstance(left.base, ast.Symbol)
        assert left.base.decl is not None
        decl = left.base.decl
        arr = self.var(decl)
        lwhere = _where(left.tok)
        right = self.stored(e.right)
        if op == "=":
            return f"{arr}.set({self.key(left)}, {right}, {lwhere})"
        if op == "+=":
            return f"{arr}.incr({self.key(left)}, {right}, {lwhere})"
        if op == "-=":
            return f"{arr}.incr({self.key(left)}, -{right}, {lwhere})"
        t = self.fn.temp()
        current = f"{arr}.get({t}, {_default(decl.type)})"
        value = self.combine(op[:-1], current, right, _where(e.right.tok))
        return f"{arr}.set(({t} := {self.key(left)}), {value}, {lwhere})"

    def crement(self, e: ast.Crement, as_stmt: bool = False) -> str:
        delta = "1" if e.op == "++" else "-1"
        operand = e.operand
        if isinstance(operand, ast.Symbol):
            assert operand.decl is not None
            name = self.assign_name(operand.decl)
            new = f"_wrap({name} + {delta})"
            if as_stmt:  # no call: this runs per event in kernel-event handlers
                edge = "9223372036854775807" if delta == "1" else "-9223372036854775808"
                return f"{name} = {name} + {delta} if {name} != {edge} else {new}"
            if e.prefix:
                return f"({name} := {new})"
            t = self.fn.temp()
            return f"(({t} := {name}), ({name} := _wrap({t} + {delta})))[0]"
        assert isinstance(operand, ast.ArrayIndex) and isinstance(operand.base, ast.Symbol)
        assert operand.base.decl is not None
        arr = self.var(operand.base.decl)
        call = f"{arr}.incr({self.key(operand)}, {delta}, {_where(operand.tok)})"
        if as_stmt or e.prefix:
            return call
        return f"_wrap({call} - {delta})"

    def cond(self, e: ast.Expr) -> str:
        """``e`` as a Python condition (any truthy value)."""
        if isinstance(e, ast.Comparison):
            return f"({self.expr(e.left)} {e.op} {self.expr(e.right)})"
        if isinstance(e, ast.Logical):
            op = "and" if e.op == "&&" else "or"
            return f"({self.cond(e.left)} {op} {self.cond(e.right)})"
        if isinstance(e, ast.Unary) and e.op == "!":
            return f"(not {self.cond(e.operand)})"
        if isinstance(e, ast.ArrayIn):
            return self.array_in(e, as_cond=True)
        return self.expr(e)

    def array_in(self, e: ast.ArrayIn, as_cond: bool) -> str:
        base = e.index.base
        assert isinstance(base, ast.Symbol) and base.decl is not None
        arr = self.var(base.decl)
        if any(i is None for i in e.index.indexes):
            pattern = (
                "("
                + "".join(("None" if x is None else self.expr(x)) + ", " for x in e.index.indexes)
                + ")"
            )
            return f"_ops.slice_in({arr}, {pattern})"
        test = f"({self.key(e.index)} in {arr})"
        return test if as_cond else f"(1 if {test} else 0)"

    def stored(self, e: ast.Expr) -> str:
        """A value about to be stored (variable, array, argument, return value): stap
        copies strings into MAXSTRINGLEN buffers, so a long literal is cut there."""
        if isinstance(e, ast.StringLit) and len(e.value) > self.msl:
            return repr(e.value[: self.msl])
        return self.expr(e)

    def expr(self, e: ast.Expr) -> str:
        if isinstance(e, _Temp):
            return e.name
        if isinstance(e, ast.NumberLit):
            return str(e.value) if e.value >= 0 else f"({e.value})"
        if isinstance(e, ast.StringLit):
            return repr(e.value)  # stored copies are cut: see stored()
        if isinstance(e, ast.Symbol):
            assert e.decl is not None
            return self.var(e.decl)
        if isinstance(e, ast.ArrayIndex):
            if isinstance(e.base, ast.HistOp):
                stat = self.stat_ref(e.base.stat)
                idx = self.expr(e.indexes[0]) if e.indexes[0] is not None else "0"
                return f"_ops.hist_bucket({stat}, {idx}, {_where(e.tok)})"
            assert e.base.decl is not None
            decl = e.base.decl
            arr = self.var(decl)
            if decl.type == STATS:
                return f"{arr}.stat({self.key(e)})"
            return f"{arr}.get({self.key(e)}, {_default(decl.type)})"
        if isinstance(e, ast.Assignment):
            return self.assignment(e)
        if isinstance(e, ast.TargetSymbol) and e.binding is not None:
            return self.target(e)
        if isinstance(e, ast.Entry) and e.slot >= 0:  # saved by the entry probe
            return f"_entry{e.slot}.pop(_ev[2], {_default(e.type)})"
        if isinstance(e, ast.EntrySave):
            return f"_entry{e.slot}.__setitem__(_ev[2], {self.stored(e.value)})"
        if isinstance(e, ast.Crement):
            return self.crement(e)
        if isinstance(e, ast.Binary):
            return self.combine(e.op, self.expr(e.left), self.expr(e.right), _where(e.tok))
        if isinstance(e, ast.Unary):
            operand = self.expr(e.operand)
            if e.op == "-":
                return f"_wrap(-{operand})"
            if e.op == "~":
                return f"(~{operand})"
            if e.op == "!":
                return f"(0 if {self.cond(e.operand)} else 1)"
            return operand
        if isinstance(e, ast.Logical | ast.Comparison):
            return f"(1 if {self.cond(e)} else 0)"
        if isinstance(e, ast.Concat):
            return f"({self.expr(e.left)} + {self.expr(e.right)})[:{self.msl}]"
        if isinstance(e, ast.Ternary):
            return f"({self.expr(e.then)} if {self.cond(e.cond)} else {self.expr(e.otherwise)})"
        if isinstance(e, ast.ArrayIn):
            return self.array_in(e, as_cond=False)
        if isinstance(e, ast.RegexMatch):
            regex = self.const("R", e.pattern.value)
            test = f"S.regex_match({regex}, {self.expr(e.left)})"
            return test if e.op == "=~" else f"(1 - {test})"
        if isinstance(e, ast.FunctionCall):
            if e.arg_field is not None:  # int_arg(N)...: a field of the syscall's event
                field, conversion = e.arg_field
                assert self.ev_fields is not None and isinstance(field, TraceField)
                return _INLINE[conversion].format(f"_ev[{self.ev_fields[field.name]}]")
            if e.decl is not None:
                args = [self.stored(a) for a in e.args]
                dispatcher = self.dispatch_names.get(id(e.decl))
                if dispatcher is not None:
                    return f"{dispatcher}({', '.join([*args, _where(e.tok)])})"
                return f"{self.function_names[id(e.decl)]}({', '.join(args)})"
            return self.builtin_call(e)
        if isinstance(e, ast.PrintFormat):
            if e.to_string:
                return self.print_format(e)
            return f"_rt.void({self.print_format(e)})"
        if isinstance(e, ast.StatOp):
            stat = self.stat_ref(e.stat)
            if e.kind in ("count", "sum"):
                return f"{stat}.{e.kind}()"
            shift = f", {e.params[0]}" if e.params else ""
            return f"_ops.stat_extract({stat}, {e.kind!r}, {_where(e.tok)}{shift})"
        raise TypeError(f"no translation for {type(e).__name__}")

    # ------------------------------------------------------------------ flat expressions
    def simple(self, e: ast.Expr, out: list[str], depth: int) -> str:
        """A literal as it is; anything else through :meth:`flat`."""
        if isinstance(e, _LITERALS):
            return self.expr(e)
        return self.flat(e, out, depth)

    def spill(
        self, slots: list[_Slot], out: list[str], depth: int
    ) -> list[tuple[Any, Any, ast.Expr]]:
        """The operands at ``slots``, in order, computed into temporaries by statements
        in ``out`` and replaced by them in the tree (until :meth:`unspill`)."""
        saved: list[tuple[Any, Any, ast.Expr]] = []
        for holder, key in slots:
            child = _get(holder, key)
            if isinstance(child, _LITERALS):
                continue
            temp = _Temp(child.tok, self.flat(child, out, depth))
            temp.type = child.type
            _put(holder, key, temp)
            saved.append((holder, key, child))
        return saved

    @staticmethod
    def unspill(saved: list[tuple[Any, Any, ast.Expr]]) -> None:
        for holder, key, child in reversed(saved):
            _put(holder, key, child)

    def flat(self, e: ast.Expr, out: list[str], depth: int) -> str:
        """``e`` written to ``out`` as statements at ``depth``, one operation each, in the
        order the nested code evaluates it; returns the temporary holding its value.

        This is how a deep or long expression (a sum of thousands of terms, parentheses
        thousands deep) is translated: the statements nest no deeper than the
        conditional operators (``&&``, ``||``, ``?:``) do, so CPython compiles them."""
        pad = "    " * depth
        if isinstance(e, _Temp):
            return e.name
        if depth >= OUTLINE_FROM and depth > _OUTLINED:
            return self.outline_expr(e, out, depth)
        self.check_indent(depth, e.tok)
        if isinstance(e, ast.Logical):
            return self._flat_logical(e, out, depth)
        if isinstance(e, ast.Ternary):
            return self._flat_ternary(e, out, depth)
        if isinstance(e, deep.CHAINS):
            first, nodes = deep.spine(e)
            start = self.simple(first, out, depth)
            acc = self.fn.temp()
            out.append(f"{pad}{acc} = {start}")
            for node in nodes:
                right: ast.Expr = node.right  # type: ignore[attr-defined]
                # an operand evaluated right before its operator: a variable stays there
                if not isinstance(right, (*_LITERALS, ast.Symbol)):
                    value = _Temp(right.tok, self.flat(right, out, depth))
                    value.type = right.type
                    right = value
                left: ast.Expr = node.left  # type: ignore[attr-defined]
                old_right: ast.Expr = node.right  # type: ignore[attr-defined]
                accumulated = _Temp(left.tok, acc)
                accumulated.type = left.type
                node.left, node.right = accumulated, right  # type: ignore[attr-defined]
                try:
                    code = self.expr(node)
                finally:
                    node.left, node.right = left, old_right  # type: ignore[attr-defined]
                out.append(f"{pad}{acc} = {code}")
            return acc
        if isinstance(e, ast.Assignment) and e.op not in ("=", "<<<"):
            flat_assignment = self._flat_compound(e, out, depth)
            if flat_assignment is not None:
                return flat_assignment
        saved = self.spill(_slots(e), out, depth)
        try:
            code = self.expr(e)
        finally:
            self.unspill(saved)
        temp = self.fn.temp()
        out.append(f"{pad}{temp} = {code}")
        return temp

    def outline_expr(self, e: ast.Expr, out: list[str], depth: int) -> str:
        """An expression whose flat statements would nest too deep (conditional
        operators in conditional operators), as a function of its own that returns its
        value (see :meth:`outline`)."""
        slot = len(self.fn.outlined)
        name = f"_o{slot}"
        self.fn.outlined.append((name, []))
        code: list[str] = []
        value = self.flat(e, code, _OUTLINED)
        code.append(f"            return {value}")
        self.fn.outlined[slot] = (name, code)
        result = self.fn.temp()
        out.append(f"{'    ' * depth}{result} = {name}()")
        return result

    def _flat_logical(self, e: ast.Logical, out: list[str], depth: int) -> str:
        """``a && b || c ...``: the value so far decides whether the next operand is
        evaluated at all."""
        pad = "    " * depth
        first, nodes = deep.spine(e)
        start = self.simple(first, out, depth)
        acc = self.fn.temp()
        out.append(f"{pad}{acc} = 1 if {start} else 0")
        for node in nodes:
            assert isinstance(node, ast.Logical)
            out.append(f"{pad}if {'' if node.op == '&&' else 'not '}{acc}:")
            value = self.simple(node.right, out, depth + 1)
            out.append(f"{pad}    {acc} = 1 if {value} else 0")
        return acc

    def _flat_ternary(self, e: ast.Ternary, out: list[str], depth: int) -> str:
        """``c1 ? v1 : c2 ? v2 : ... : v``: each condition evaluated while none before
        held, in a sequence of ifs guarded by a flag (a chain of any length stays this
        deep)."""
        pad = "    " * depth
        result, pending = self.fn.temp(), self.fn.temp()
        out.append(f"{pad}{pending} = 1")
        node: ast.Expr = e
        while isinstance(node, ast.Ternary):
            out.append(f"{pad}if {pending}:")
            cond = self.simple(node.cond, out, depth + 1)
            out.append(f"{pad}    if {cond}:")
            out.append(f"{pad}        {pending} = 0")
            value = self.simple(node.then, out, depth + 2)
            out.append(f"{pad}        {result} = {value}")
            node = node.otherwise
        out.append(f"{pad}if {pending}:")
        value = self.simple(node, out, depth + 1)
        out.append(f"{pad}    {result} = {value}")
        return result

    def _flat_compound(self, e: ast.Assignment, out: list[str], depth: int) -> str | None:
        """``x op= v`` and ``a[k] op= v`` (but ``+=``, ``-=``), whose code reads the
        variable before it evaluates ``v``: in that order here too."""
        pad = "    " * depth
        left = e.left
        where = _where(e.right.tok)
        if isinstance(left, ast.Symbol):
            assert left.decl is not None
            name = self.assign_name(left.decl)
            current = self.fn.temp()
            out.append(f"{pad}{current} = {name}")
            right = self.stored(e.right) if isinstance(e.right, _LITERALS) else None
            if right is None:
                right = self.flat(e.right, out, depth)
            out.append(f"{pad}{name} = {self.combine(e.op[:-1], current, right, where)}")
            value = self.fn.temp()
            out.append(f"{pad}{value} = {name}")
            return value
        if e.op in ("+=", "-=") or not isinstance(left, ast.ArrayIndex):
            return None
        assert isinstance(left.base, ast.Symbol) and left.base.decl is not None
        decl = left.base.decl
        arr = self.var(decl)
        saved = self.spill(_index_slots(left), out, depth)
        try:
            key_code = self.key(left)
        finally:
            self.unspill(saved)
        key, current = self.fn.temp(), self.fn.temp()
        out.append(f"{pad}{key} = {key_code}")
        out.append(f"{pad}{current} = {arr}.get({key}, {_default(decl.type)})")
        right = self.stored(e.right) if isinstance(e.right, _LITERALS) else None
        if right is None:
            right = self.flat(e.right, out, depth)
        value = self.fn.temp()
        combined = self.combine(e.op[:-1], current, right, where)
        out.append(f"{pad}{value} = {arr}.set({key}, {combined}, {_where(left.tok)})")
        return value

    def is_deep(self, *exprs: ast.Expr | None) -> bool:
        return any(e is not None and _deeper_than(e, FLAT_FROM) for e in exprs)

    def cond_at(self, e: ast.Expr, out: list[str], depth: int) -> str:
        """``e`` as a condition of a statement at ``depth`` (written flat first if deep)."""
        if self.is_deep(e):
            return self.flat(e, out, depth)
        return self.cond(e)

    def expr_stmt_at(self, e: ast.Expr, out: list[str], depth: int) -> None:
        """An expression statement at ``depth`` (written flat if deep)."""
        pad = "    " * depth
        if not self.is_deep(e):
            out.extend(pad + line for line in self.expr_stmt(e))
            return
        if isinstance(e, _FLAT_ONLY):
            self.flat(e, out, depth)  # its value unused
            return
        if (
            isinstance(e, ast.Assignment)
            and e.op not in ("=", "<<<")
            and self._flat_compound(e, out, depth) is not None
        ):
            return
        saved = self.spill(_slots(e), out, depth)
        try:
            out.extend(pad + line for line in self.expr_stmt(e))
        finally:
            self.unspill(saved)

    def builtin_call(self, e: ast.FunctionCall, as_stmt: bool = False) -> str:
        name = e.builtin
        args = [self.expr(a) for a in e.args]
        if name == "exit":
            return "S.exit()"
        if name == "abort":
            return "S.abort()"
        if name == "error":
            return f"S.error({args[0]})"
        if name == "warn":
            return f"S.warn({args[0]})"
        if name == "log":
            return f"_out({args[0]} + b'\\n')"
        if name == "assert":
            msg = args[1] if len(args) > 1 else "b'Assertion failed'"
            return f"S.check({args[0]}, {msg})"
        if name == "target":
            return "S.target"
        if self.ev_fields is not None and name in EVENT_CONTEXT:
            return EVENT_CONTEXT[name]
        if self.perf_probe and name in PERF_CONTEXT:
            return PERF_CONTEXT[name]
        if name == "pp":
            return "S.pp" if self.pp_text is None else repr(self.pp_text)
        if name == "pn":
            return "S.pn"
        if name in ("ppfunc", "probefunc"):
            return "_rt.tapset.probefunc()" if self.perf_probe else "b''"
        if name == "matched":
            return f"S.matched({args[0]}, {TAPSET_WHERE['matched']!r})"
        if name == "matched_str":
            return f"S.matched(0, {TAPSET_WHERE['matched']!r})"
        if name == "ngroups":
            return f"S.ngroups({TAPSET_WHERE['ngroups']!r})"
        assert name is not None
        sig = tapset_lookup(name, len(e.args))
        assert sig is not None
        call_args = (["_TS"] if sig.needs_state else []) + args
        home = sig.impl.__module__.rpartition(".")[2]  # tapset, or sysfmt
        if home == "sysfmt" and name in _INLINE:  # conversions of event fields
            return _INLINE[name].format(args[0])
        fn = f"_rt.{home}.{sig.impl.__name__}"
        if name in TAPSET_WHERE:
            text = f"_rt.call({fn}, {TAPSET_WHERE[name]!r}, {', '.join(call_args)})"
        else:
            text = f"{fn}({', '.join(call_args)})"
        if sig.returns == STRING:
            text += f"[:{self.msl}]"
        return text

    def target(self, e: ast.TargetSymbol) -> str:
        """A kernel.trace handler's ``$field`` (an item of the event tuple ``_ev``) or
        context name."""
        assert self.ev_fields is not None
        if e.binding == "$$name":
            return "_rt.event_name(_ev)"
        if e.binding in ("$$parms", "$$vars"):
            return f"_rt.event_parms(_ev)[:{self.msl}]"
        if isinstance(e.binding, TraceField):
            return f"_ev[{self.ev_fields[e.binding.name]}]"
        assert isinstance(e.binding, tuple)  # ("task", its pid field): a task handle
        field = e.binding[1]
        assert isinstance(field, TraceField)
        return f"({TASK_HANDLE} + _ev[{self.ev_fields[field.name]}])"

    def print_format(self, e: ast.PrintFormat) -> str:
        if e.hist is not None:
            stat = self.stat_ref(e.hist.stat)
            maxlen = str(self.settings.MAXSTRINGLEN) if e.to_string else "None"
            text = (
                f"_ops.hist_text({stat}, {e.hist.kind!r}, {tuple(e.hist.params)!r}, "
                f"{_where(e.tok)}, {maxlen}, {self.settings.HIST_ELISION})"
            )
            return text if e.to_string else f"_out({text})"
        for a in e.args:
            if a.type == STATS:
                # stap meets the argument twice (sizing the output, then writing it)
                for _ in range(2):
                    self.pass3_error(
                        "print format actual argument evaluation type unsupported", a.tok
                    )
        if e.format is not None:
            fmt = self.const("F", e.format)
            args = "".join(self.expr(a) + ", " for a in e.args)
            if e.to_string:
                # render_string keeps printf.MAXSTRINGLEN - 1 bytes: cut only below that
                cut = f"[:{self.msl}]" if self.msl < printf.MAXSTRINGLEN - 1 else ""
                return f"{fmt}.render_string(({args})){cut}"
            return f"_out({fmt}.render(({args})))"
        parts = []
        for a in e.args:
            v = self.expr(a)
            parts.append(f"(b'%d' % {v})" if a.type == LONG else v)
        sep = e.delimiter if e.delimiter is not None else b""
        text = (repr(sep) + ".join((" + "".join(p + ", " for p in parts) + "))") if parts else "b''"
        if len(parts) == 1:
            text = parts[0]
        if e.newline:
            text = f"{text} + b'\\n'"
        if e.to_string:
            return f"({text})[:{self.msl}]"
        return f"_out({text})"

    # ------------------------------------------------------------------ overloads
    def _plan_dispatch(self) -> None:
        """Overloaded functions, and functions that may say ``next``, are called through
        a dispatcher that tries each definition in turn (``self.groups``: the functions
        by name and arity, in priority order)."""
        by_signature: dict[tuple[str, int], list[ast.FunctionDecl]] = {}
        for f in self.p.functions:
            by_signature.setdefault((f.name, len(f.params)), []).append(f)
        self.groups = [sorted(g, key=lambda f: f.priority) for g in by_signature.values()]
        for group in self.groups:
            if len(group) > 1 or any(_has_next(f) for f in group):
                first = group[0]
                self.dispatch_names[id(first)] = "d_" + self.function_names[id(first)][2:]
                for f in group:
                    self.dispatched.add(id(f))


class ActionCounter:
    """stap's static action count (``max_action_info``): the statements a body runs at
    most, calls included, or None when it has a loop or recursion (counted as it runs).
    """

    def __init__(self, dispatched: set[int]) -> None:
        self._functions: dict[int, int | None] = {}
        self._active: set[int] = set()
        self._dispatched = dispatched

    def function_count(self, f: ast.FunctionDecl) -> int | None:
        key = id(f)
        if key in self._functions:
            return self._functions[key]
        if key in self._active or not isinstance(f.body, ast.Block):
            return None
        self._active.add(key)
        try:
            count = self.stmt_count(f.body)
        finally:
            self._active.discard(key)
        self._functions[key] = count
        return count

    def call_count(self, call: ast.FunctionCall) -> int | None:
        if call.decl is None or id(call.decl) in self._dispatched:
            return None
        return self.function_count(call.decl)

    def _calls(self, exprs: list[ast.Expr | None]) -> int | None:
        total = 0
        for e in exprs:
            if e is None:
                continue
            for call in _calls_in(e):
                n = self.call_count(call)
                if n is None:
                    return None
                total += n
        return total

    def stmt_count(self, s: ast.Stmt) -> int | None:
        if isinstance(s, ast.Block):
            total = 0
            for sub in s.body:
                n = self.stmt_count(sub)
                if n is None:
                    return None
                total += n
            return total
        if isinstance(s, ast.For | ast.Foreach):
            return None
        if isinstance(s, ast.ExprStmt):
            calls = self._calls([s.expr])
            return None if calls is None else 1 + calls
        if isinstance(s, ast.If):
            # an else-if chain in a loop: each link counts 1, its condition's calls and
            # the larger of its branch and the rest of the chain
            links: list[tuple[int | None, int | None]] = []
            other: int | None = 0
            for node in deep.else_chain(s):
                links.append((self._calls([node.cond]), self.stmt_count(node.then)))
                if node.otherwise is not None and not isinstance(node.otherwise, ast.If):
                    other = self.stmt_count(node.otherwise)
            for calls, then in reversed(links):
                if calls is None or then is None or other is None:
                    return None
                other = 1 + calls + max(then, other)
            return other
        if isinstance(s, ast.Return):
            calls = self._calls([s.value])
            return None if calls is None else 1 + calls
        if isinstance(s, ast.TryBlock):
            a, b = self.stmt_count(s.body), self.stmt_count(s.handler)
            return None if a is None or b is None else 1 + a + b
        if isinstance(s, ast.Delete):
            calls = self._calls([s.target])
            return None if calls is None else 1 + calls
        return 1  # null, next, break, continue


# What kernel-event handlers read of the task beyond the events' header: captured
# in the kernel (runtime/kernel/programs.py) for every kernel probe of the module.
_CONTEXT_CALLS = {
    "ppid": "ppid",
    "task_parent": "ppid",
    "pexecname": "pcomm",
    "euid": "euid",
    "egid": "egid",
    "pgrp": "pgrp",
    "sid": "sid",
    "cmdline_str": "cmdline",
    "cmdline_args": "cmdline",
    "cmdline_arg": "cmdline",
}


def _event_calls(program: Program) -> set[str]:
    """The names of the tapset functions kernel-event handlers (and the functions of
    the script) call."""
    roots: list[ast.Stmt] = [p.body for p in program.probes if p.spec.kind in EVENT_KINDS]
    roots += [f.body for f in program.functions if isinstance(f.body, ast.Block)]
    names: set[str] = set()
    for root in roots:
        for st in _walk_stmts(root):
            for e, _ in _stmt_exprs(st):
                for x in _walk_expr(e):
                    if isinstance(x, ast.FunctionCall) and x.decl is None:
                        names.add(x.name)
    return names


# What reads an event's uid, gid, time or comm (runtime/tapset.py: EV[4] to EV[7])
_HEADER_CALLS = frozenset(
    (
        "uid",
        "gid",
        "execname",
        "gettimeofday_ns",
        "gettimeofday_us",
        "gettimeofday_ms",
        "gettimeofday_s",
    )
)


def light_header(program: Program) -> bool:
    """Whether no kernel-event handler reads the events' uid, gid, time or comm (the
    task_* functions may, through the event of their task): the BPF programs then
    leave them out."""
    if not any(p.spec.kind == "trace" for p in program.probes):
        return False
    names = _event_calls(program)
    return not (names & _HEADER_CALLS or any(n.startswith("task_") for n in names))


def kernel_context(program: Program) -> tuple[str, ...]:
    """The task context items the module's kernel-event handlers (or the functions
    they call) read, in runtime/kernel/programs.py's names; () without kernel probes."""
    if not any(p.spec.kind in EVENT_KINDS for p in program.probes):
        return ()
    wanted = {_CONTEXT_CALLS[n] for n in _event_calls(program) if n in _CONTEXT_CALLS}
    order = ("ppid", "pcomm", "euid", "egid", "pgrp", "sid", "cmdline")
    return tuple(name for name in order if name in wanted)


def _calls_in(e: ast.Expr) -> list[ast.FunctionCall]:
    """The calls of user functions in ``e``, in evaluation order."""
    return [x for x in _walk_expr(e) if isinstance(x, ast.FunctionCall) and x.decl is not None]


def _stmt_tok(s: ast.Stmt) -> object:
    """The token stap names for a statement: its optimizer replaces a block of one
    statement by that statement."""
    while isinstance(s, ast.Block) and len(s.body) == 1:
        s = s.body[0]
    return s.tok


def _has_next(f: ast.FunctionDecl) -> bool:
    return isinstance(f.body, ast.Block) and any(
        isinstance(s, ast.Next) for s in _walk_stmts(f.body)
    )


def _calls(f: ast.FunctionDecl) -> list[ast.FunctionCall]:
    from .semantic import _stmt_exprs

    found: list[ast.FunctionCall] = []
    if isinstance(f.body, ast.Block):
        for st in _walk_stmts(f.body):
            for e, _ in _stmt_exprs(st):
                found.extend(x for x in _walk_expr(e) if isinstance(x, ast.FunctionCall))
    return found


def maxnesting(program: Program) -> int:
    """MAXNESTING as stap computes it: the deepest call chain found from each function's
    body, plus one, plus ten when some function is recursive."""
    deepest = 0
    recursive = False

    def visit(f: ast.FunctionDecl, stack: list[int]) -> None:
        nonlocal deepest, recursive
        for call in _calls(f):
            deepest = max(deepest, len(stack) + 1)
            if call.decl is None:
                continue
            if id(call.decl) in stack:
                recursive = True
            else:
                visit(call.decl, [*stack, id(call.decl)])

    for f in program.functions:
        visit(f, [id(f)])
    return deepest + 1 + (10 if recursive else 0)


def _has_continue(s: ast.Stmt) -> bool:
    """Does ``s`` contain a ``continue`` for the enclosing loop (not a nested one)?"""
    if isinstance(s, ast.Continue):
        return True
    if isinstance(s, ast.Block):
        return any(_has_continue(x) for x in s.body)
    if isinstance(s, ast.If):
        for node in deep.else_chain(s):
            if _has_continue(node.then):
                return True
            if node.otherwise is not None and not isinstance(node.otherwise, ast.If):
                return _has_continue(node.otherwise)
        return False
    if isinstance(s, ast.TryBlock):
        return _has_continue(s.body) or _has_continue(s.handler)
    return False


def generate(
    program: Program,
    settings: Settings,
    module_name: str,
    diagnostics: DiagnosticPrinter | None = None,
) -> str:
    """Pass 3: the Python source of the module."""
    return deep.run(
        lambda: CodeGenerator(program, settings, module_name, diagnostics).generate(),
        TranslateError,
        "Pass 3: translation failed",
    )


__all__ = ["ABI", "Settings", "generate", "maxnesting"]

"""The parse tree of a SystemTap script.

Pass 1 builds it; pass 2 fills in the ``type`` of expressions and the ``decl`` of symbols
and calls; pass 3 walks it to generate Python.  Every node keeps the token stap would name
in a diagnostic.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .source import Token

if TYPE_CHECKING:
    from ..runtime.printf import Format

# Types, as stap names them.
LONG = "long"
STRING = "string"
STATS = "stats"
UNKNOWN = "unknown"


# ---------------------------------------------------------------------- expressions


@dataclass(eq=False)
class Expr:
    tok: Token
    type: str = field(default=UNKNOWN, init=False, compare=False)


@dataclass(eq=False)
class NumberLit(Expr):
    value: int


@dataclass(eq=False)
class StringLit(Expr):
    value: bytes
    # The literal's text as stap keeps it (escapes not yet evaluated): stap folds and
    # compares literals on this text, and the C compiler evaluates it afterwards.
    raw: str | None = None


Literal = NumberLit | StringLit


@dataclass(eq=False)
class Symbol(Expr):
    name: str
    decl: VarDecl | None = field(default=None, compare=False)


@dataclass(eq=False)
class HistOp(Expr):
    kind: str  # "linear" | "log"
    stat: Expr
    params: list[int]


@dataclass(eq=False)
class ArrayIndex(Expr):
    base: Symbol | HistOp
    indexes: list[Expr | None]  # None is the ``*`` of an array slice


@dataclass(eq=False)
class FunctionCall(Expr):
    name: str
    args: list[Expr]
    decl: FunctionDecl | None = field(default=None, compare=False)
    builtin: str | None = field(default=None, compare=False)
    # every definition of the function with this arity, tried in order (``next``)
    overloads: list[FunctionDecl] = field(default_factory=list, compare=False)
    # pass 2, ``int_arg(N)`` and the like in a syscall probe: (the field read, its
    # conversion: __int32, __uint32, __long)
    arg_field: tuple[object, str] | None = field(default=None, compare=False)


@dataclass(eq=False)
class PrintFormat(Expr):
    """print/println/printf/printd/printdln and their ``s`` (to string) forms."""

    name: str
    args: list[Expr]
    format: bytes | None = None  # printf, sprintf
    delimiter: bytes | None = None  # printd, printdln, sprintd, sprintdln
    hist: HistOp | None = None  # print(@hist_log(s))
    parsed: Format | None = field(default=None, compare=False)

    @property
    def to_string(self) -> bool:
        return self.name.startswith("s")

    @property
    def newline(self) -> bool:
        return self.name.endswith("ln")


@dataclass(eq=False)
class StatOp(Expr):
    kind: str  # count sum min max avg variance
    stat: Expr
    params: list[int]


@dataclass(eq=False)
class Unary(Expr):
    op: str
    operand: Expr


@dataclass(eq=False)
class Crement(Expr):
    op: str  # "++" | "--"
    operand: Expr
    prefix: bool


@dataclass(eq=False)
class Binary(Expr):
    """Arithmetic and bit operators: + - * / % << >> >>> & | ^."""

    op: str
    left: Expr
    right: Expr


@dataclass(eq=False)
class Logical(Expr):
    op: str  # "&&" | "||"
    left: Expr
    right: Expr


@dataclass(eq=False)
class Comparison(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(eq=False)
class Concat(Expr):
    left: Expr
    right: Expr


@dataclass(eq=False)
class RegexMatch(Expr):
    op: str  # "=~" | "!~"
    left: Expr
    pattern: StringLit


@dataclass(eq=False)
class Ternary(Expr):
    cond: Expr
    then: Expr
    otherwise: Expr


@dataclass(eq=False)
class Assignment(Expr):
    op: str  # = += -= ... .= <<<
    left: Expr
    right: Expr


@dataclass(eq=False)
class ArrayIn(Expr):
    index: ArrayIndex


@dataclass(eq=False)
class Defined(Expr):
    operand: Expr


@dataclass(eq=False)
class Entry(Expr):
    operand: Expr
    # pass 2, in a syscall return probe: the saved value this reads (EntrySave.slot)
    slot: int = field(default=-1, compare=False)


@dataclass(eq=False)
class EntrySave(Expr):
    """Pass 2: in the entry probe made for a syscall return probe's ``@entry(value)``,
    the saving of ``value`` for the return (per thread)."""

    slot: int
    value: Expr


@dataclass(eq=False)
class TargetComponent:
    tok: Token
    kind: str  # "member" | "index" | "pretty"
    name: str = ""
    index: Expr | None = None


@dataclass(eq=False)
class TargetSymbol(Expr):
    """``$var``, ``@cast(...)``, ``@var(...)``, or a value followed by ``->``/``[``:
    anything that reads the probed program's memory."""

    kind: str  # "$" | "@cast" | "@var" | "autocast"
    name: str
    components: list[TargetComponent] = field(default_factory=list)
    operand: Expr | None = None
    type_name: str = ""
    module: str = ""
    addressof: bool = False
    # pass 2, in a kernel.trace probe: the event field read (``$name``), or the
    # context name (``$$parms``, ``$$vars``, ``$$name``)
    binding: object = field(default=None, compare=False)


@dataclass(eq=False)
class EmbeddedExpr(Expr):
    code: str


@dataclass(eq=False)
class OtherAtOp(Expr):
    """@perf, @probewrite, @const, @kregister, @uregister, @kderef, @uderef."""

    name: str
    args: list[Expr] = field(default_factory=list)
    text: str = ""


# ---------------------------------------------------------------------- statements


@dataclass(eq=False)
class Stmt:
    tok: Token


@dataclass(eq=False)
class Block(Stmt):
    body: list[Stmt]


@dataclass(eq=False)
class TryBlock(Stmt):
    body: Block
    catch_var: Symbol | None
    handler: Block


@dataclass(eq=False)
class EmbeddedStmt(Stmt):
    code: str


@dataclass(eq=False)
class NullStmt(Stmt):
    pass


@dataclass(eq=False)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(eq=False)
class If(Stmt):
    cond: Expr
    then: Stmt
    otherwise: Stmt | None


@dataclass(eq=False)
class For(Stmt):
    init: ExprStmt | None
    cond: Expr
    step: ExprStmt | None
    body: Stmt
    is_while: bool = False


@dataclass(eq=False)
class Foreach(Stmt):
    keys: list[Symbol]
    value: Symbol | None
    base: Symbol | HistOp
    slice: list[Expr | None]
    sort_direction: int  # 0, 1 ascending, -1 descending
    sort_column: int  # 0 = the value, N = the Nth key
    sort_aggregate: str | None  # count sum min max avg variance, for a stats array
    limit: Expr | None
    body: Stmt


@dataclass(eq=False)
class Return(Stmt):
    value: Expr | None


@dataclass(eq=False)
class Delete(Stmt):
    target: Expr


@dataclass(eq=False)
class Next(Stmt):
    pass


@dataclass(eq=False)
class Break(Stmt):
    pass


@dataclass(eq=False)
class Continue(Stmt):
    pass


# ---------------------------------------------------------------------- declarations


@dataclass(eq=False)
class Component:
    tok: Token
    functor: str
    arg: Literal | None = None


@dataclass(eq=False)
class ProbePoint:
    components: list[Component]
    optional: bool = False
    sufficient: bool = False
    condition: Expr | None = None

    def text(self) -> str:
        from .unparse import probe_point_text

        return probe_point_text(self)


@dataclass(eq=False)
class Probe:
    tok: Token
    points: list[ProbePoint]
    body: Block


@dataclass(eq=False)
class ProbeAlias:
    tok: Token
    names: list[ProbePoint]
    points: list[ProbePoint]
    body: Block
    epilogue: bool
    body2: Block | None = None


@dataclass(eq=False)
class VarDecl:
    tok: Token
    name: str
    is_global: bool
    private: bool = False
    wrap: bool = False
    maxsize: int | None = None
    init: Literal | None = None
    # filled by pass 2
    type: str = UNKNOWN
    arity: int = -1  # -1 unknown, 0 scalar, N keys
    index_types: list[str] = field(default_factory=list)
    read: bool = False
    written: bool = False
    hist_specs: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    bit_shift: int | None = None  # of @variance(s, N), for a stats variable


@dataclass(eq=False)
class Param:
    tok: Token
    name: str
    type: str = UNKNOWN


@dataclass(eq=False)
class FunctionDecl:
    tok: Token
    name: str
    params: list[Param]
    body: Block | EmbeddedStmt
    declared_type: str = UNKNOWN
    private: bool = False
    priority: int = 0
    # filled by pass 2
    type: str = UNKNOWN
    locals: dict[str, VarDecl] = field(default_factory=dict)


@dataclass(eq=False)
class ScriptFile:
    source_name: str
    probes: list[Probe] = field(default_factory=list)
    aliases: list[ProbeAlias] = field(default_factory=list)
    functions: list[FunctionDecl] = field(default_factory=list)
    globals: list[VarDecl] = field(default_factory=list)
    embeds: list[EmbeddedStmt] = field(default_factory=list)
    # command-line arguments ($1, @2, ...) the script never refers to, 1-based
    unused_args: list[int] = field(default_factory=list)


def symbol_names(root: object) -> set[str]:
    """Every variable name in a tree (read or written: a superset of what it reads)."""
    names: set[str] = set()
    stack = [root]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, Symbol):
            names.add(x.name)
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            for f in dataclasses.fields(x):
                if f.name not in ("tok", "decl", "type", "binding", "overloads", "arg_field"):
                    stack.append(getattr(x, f.name))
    return names

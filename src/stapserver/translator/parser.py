"""Pass 1: the SystemTap grammar, as stap's recursive-descent parser reads it.

Two preprocessing layers sit between the lexer and the grammar, as in stap: macros
(``@define name(args) %( body %)``, expanded where ``@name`` is used) and conditionals
(``%( kernel_v >= "2.6" %? then %: else %)``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ..errors import ParseError
from ..runtime.base import wrap
from ..runtime.printf import FormatError, parse_format
from . import ast, deep
from .lexer import Lexer, decode_string
from .source import EMBEDDED, IDENT, KEYWORD, NUMBER, OP, STRING, DiagnosticPrinter, Source, Token

PRINT_FUNCTIONS = frozenset(
    [
        "print",
        "println",
        "printf",
        "printd",
        "printdln",
        "sprint",
        "sprintln",
        "sprintf",
        "sprintd",
        "sprintdln",
    ]
)
STAT_OPS = {
    "@avg": "avg",
    "@count": "count",
    "@sum": "sum",
    "@min": "min",
    "@max": "max",
    "@variance": "variance",
}
ASSIGN_OPS = frozenset(
    ["=", "<<<", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|=", ".="]
)
COMPARE_OPS = frozenset([">", "<", "==", "!=", "<=", ">="])
# The left-associative binary operators, in two bands of stap's precedence levels (loosest
# first): || && | ^ & over array-in operands, and << >> >>> . + - * / % over unary ones.
# Each band is read by one operator-precedence loop (see _parse_band).
_LOW_BAND = {"||": 0, "&&": 1, "|": 2, "^": 3, "&": 4}
_HIGH_BAND = {"<<": 0, ">>": 0, ">>>": 0, ".": 1, "+": 2, "-": 2, "*": 3, "/": 3, "%": 3}
# Past this depth of nesting, the finished tree is measured too (deep.too_deep): the walks
# of later passes recurse as deep as the tree, which can be deeper than the nesting the
# parser counts (a level of parentheses may hold an operator of each precedence level: a
# tree is at most some twenty times deeper, so below this one it cannot be too deep).
_MEASURE_FROM = 256
_UINT64_MAX = (1 << 64) - 1
_INT64_MIN_MAGNITUDE = 1 << 63


@dataclass
class PreprocessorContext:
    """What ``%( ... %)`` conditions test: the target of the build."""

    kernel_release: str = ""
    arch: str = "x86_64"
    runtime: str = "python"
    systemtap_v: str = "4.8"
    privilege: str = "stapdev"
    guru_mode: bool = False
    kernel_config: dict[str, str] = field(default_factory=dict)

    @property
    def kernel_v(self) -> str:
        return self.kernel_release.split("-", 1)[0]


class _Err(Exception):
    def __init__(self, message: str, tok: Token | None = None, skip_some: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.tok = tok
        self.skip_some = skip_some


@dataclass(eq=False)
class Macro:
    tok: Token
    formal_args: list[str] = field(default_factory=list)
    body: list[Token] = field(default_factory=list)
    parent: _Activation | None = None  # set for a parameter: evaluated where invoked


@dataclass(eq=False)
class _Activation:
    tok: Token
    macro: Macro
    cursor: int = 0
    params: dict[str, Macro] = field(default_factory=dict)


def strverscmp(a: str, b: str) -> int:
    """Version comparison in the spirit of glibc's strverscmp: digit runs compare as
    numbers, everything else character by character."""
    parts_a = re.findall(r"[0-9]+|[^0-9]", a)
    parts_b = re.findall(r"[0-9]+|[^0-9]", b)
    for x, y in zip(parts_a, parts_b, strict=False):
        if x == y:
            continue
        if x[0] in "0123456789" and y[0] in "0123456789":
            return -1 if int(x) < int(y) else 1 if int(x) > int(y) else (-1 if x < y else 1)
        return -1 if x < y else 1
    return (len(parts_a) > len(parts_b)) - (len(parts_a) < len(parts_b))


def _compare(lhs: object, op: Token, rhs: object) -> bool:
    ops = {
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
    }
    if op.type == OP and op.content in ops:
        return bool(ops[op.content](lhs, rhs))
    raise _Err("expected comparison operator", op)


def _parse_c_integer(text: str) -> int | None:
    """strtoull(text, 0) accepting the whole text, else None."""
    try:
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
            return int(text, 16)
        if re.fullmatch(r"0[0-7]*", text):
            return int(text, 8) if len(text) > 1 else 0
        if re.fullmatch(r"[1-9][0-9]*", text):
            return int(text)
    except ValueError:
        return None
    return None


def _match(pattern: str, text: str) -> bool:
    return fnmatch.fnmatchcase(text, pattern)


def _eval_condition(ctx: PreprocessorContext, left: Token, op: Token, right: Token) -> bool:
    name = left.content
    if left.type == IDENT and name in ("kernel_v", "kernel_vr", "systemtap_v"):
        if right.type != STRING:
            raise _Err("expected string literal", right)
        target = {
            "kernel_v": ctx.kernel_v,
            "kernel_vr": ctx.kernel_release,
            "systemtap_v": ctx.systemtap_v,
        }[name]
        query = right.content
        wildcard = any(c in query for c in "*?[")
        if not op.is_op("<=", ">=", "<", ">", "==", "!="):
            raise _Err("expected comparison operator", op)
        if wildcard:
            if op.content not in ("==", "!="):
                raise _Err("wildcard not allowed with order comparison operators", op)
            return _match(query, target) == (op.content == "==")
        return _compare(strverscmp(target, query), op, 0)
    if left.type == IDENT and name in ("systemtap_privilege", "arch", "runtime"):
        if right.type != STRING:
            raise _Err("expected string literal", right)
        target = {"systemtap_privilege": ctx.privilege, "arch": ctx.arch, "runtime": ctx.runtime}[
            name
        ]
        if name == "systemtap_privilege":
            matched = target == right.content
        else:
            matched = _match(right.content, target)
        if op.is_op("=="):
            return matched
        if op.is_op("!="):
            return not matched
        raise _Err("expected '==' or '!='", op)
    if left.type == IDENT and name == "guru_mode":
        if right.type != NUMBER:
            raise _Err("expected number", right)
        rhs = _parse_c_integer(right.content)
        if rhs not in (0, 1):
            raise _Err("expected 0 or 1", op)
        if not op.is_op("==", "!="):
            raise _Err("expected '==' or '!='", op)
        return _compare(int(ctx.guru_mode), op, rhs)
    if left.type == IDENT and name.startswith("CONFIG_"):
        value = ctx.kernel_config.get(name, "")
        if right.type == STRING:
            matched = _match(right.content, value)
            if op.is_op("=="):
                return matched
            if op.is_op("!="):
                return not matched
            raise _Err("expected '==' or '!='", op)
        if right.type == NUMBER:
            lhs_num = _parse_c_integer(value)
            if lhs_num is None:
                raise _Err("Config option value not a number", left)
            return _compare(lhs_num, op, _parse_c_integer(right.content) or 0)
        if right.type == IDENT and right.content.startswith("CONFIG_"):
            other = ctx.kernel_config.get(right.content, "")
            a, b = _parse_c_integer(value), _parse_c_integer(other)
            if a is not None and b is not None:
                return _compare(a, op, b)
            return _compare(value, op, other)
        raise _Err(
            "expected string, number literal or other CONFIG_... as right side operand", right
        )
    if left.type == STRING and right.type == STRING:
        return _compare(left.content, op, right.content)
    if left.type == NUMBER and right.type == NUMBER:
        return _compare(
            _parse_c_integer(left.content) or 0, op, _parse_c_integer(right.content) or 0
        )
    if left.type == STRING and right.type == NUMBER and op.type == OP:
        raise _Err("expected string literal as right value", right)
    if left.type == NUMBER and right.type == STRING and op.type == OP:
        raise _Err("expected number literal as right value", right)
    raise _Err(
        "expected 'arch', 'kernel_v', 'kernel_vr', 'systemtap_v',\n"
        "             'runtime', 'systemtap_privilege', 'CONFIG_...', or\n"
        "             comparison between strings or integers",
        left,
    )


class Parser:
    def __init__(
        self,
        source: Source,
        args: Sequence[str] = (),
        context: PreprocessorContext | None = None,
        *,
        privileged: bool = False,
        diagnostics: DiagnosticPrinter | None = None,
        library_macros: dict[str, Macro] | None = None,
    ) -> None:
        self.source = source
        self.library_macros = library_macros or {}
        self.lexer = Lexer(source, args)
        self.ctx = context or PreprocessorContext()
        self.privileged = privileged
        self.diag = diagnostics or DiagnosticPrinter()
        self._macros: dict[str, Macro] = {}
        self._acts: list[_Activation] = []
        self._pp: list[tuple[Token, str]] = []  # (token of "%(", state)
        self._next: Token | None = None
        self._last: Token | None = None
        self._in_function = False
        self.errors: list[str] = []
        # levels of nesting being parsed (statements, expressions, unary operators), and
        # the most seen: bounded by deep.MAX_NESTING
        self._nesting = 0
        self.max_nesting = 0

    # ------------------------------------------------------------------ preprocessing
    def _next_pp1(self) -> Token | None:
        if not self._acts:
            return self.lexer.scan()
        act = self._acts[-1]
        if act.cursor < len(act.macro.body):
            tok = act.macro.body[act.cursor]
            act.cursor += 1
            return replace(tok, chain=act.tok)
        return None

    def _scan_pp1(self, ignore_macros: bool = False) -> Token | None:
        while True:
            t = self._next_pp1()
            if t is None:
                if not self._acts:
                    return None
                self._acts.pop()
                continue
            if t.type == OP and t.content == "@define" and not ignore_macros:
                self._define_macro(t)
                continue
            if t.type == OP and t.content.startswith("@"):
                name = t.content[1:]
                act = self._acts[-1] if self._acts else None
                decl: Macro | None = None
                if act is not None and name in act.params:
                    decl = act.params[name]
                elif name in self._macros:
                    decl = self._macros[name]
                elif name in self.library_macros:
                    decl = self.library_macros[name]
                if decl is None:
                    return t
                self._invoke_macro(t, name, decl, act)
                continue
            return t

    def _define_macro(self, at: Token) -> None:
        if self._acts:
            raise _Err("'@define' forbidden inside macro body", at)
        t = self.lexer.scan()
        if t is None or t.type != IDENT:
            raise _Err("expected identifier", t)
        name = t.content
        if name in self._macros:
            raise _Err(f"attempt to redefine macro '@{name}' in the same file", t)
        if name == "define":
            raise _Err("attempt to redefine '@define'", t)
        decl = Macro(t)
        self._macros[name] = decl
        saw_params = False
        t = self.lexer.scan()
        if t is not None and t.is_op("("):
            saw_params = True
            while True:
                t = self.lexer.scan()
                if t is None or t.type != IDENT:
                    raise _Err("expected identifier", t)
                decl.formal_args.append(t.content)
                t = self.lexer.scan()
                if t is not None and t.is_op(","):
                    continue
                if t is not None and t.is_op(")"):
                    t = self.lexer.scan()
                    break
                raise _Err("expected ',' or ')'", t)
        if t is None or not t.is_op("%("):
            raise _Err("expected '%('" if saw_params else "expected '%(' or '('", t)
        nesting = 0
        while True:
            t = self._next_pp1()
            if t is None:
                raise _Err("incomplete macro definition - missing '%)'", decl.tok)
            if t.is_op("%("):
                nesting += 1
            elif t.is_op("%)"):
                if nesting == 0:
                    break
                nesting -= 1
            decl.body.append(t)

    def _invoke_macro(self, at: Token, name: str, decl: Macro, act: _Activation | None) -> None:
        new = _Activation(at, decl)
        nparams = len(decl.formal_args)
        if nparams == 0 and decl.parent is not None:
            new.params = decl.parent.params
            self._acts.append(new)
            return
        if nparams == 0:
            self._acts.append(new)
            return
        t = self._next_pp1()
        if t is None or not t.is_op("("):
            plural = "parameter" if nparams == 1 else "parameters"
            raise _Err(
                f"expected '(' in invocation of macro '@{name}' taking {nparams} {plural}", t
            )
        for i, pname in enumerate(decl.formal_args):
            param = Macro(at, parent=act)
            new.params[pname] = param
            nesting = 0
            while True:
                t = self._next_pp1()
                if t is None:
                    raise _Err("could not find end of macro invocation", at)
                if t.is_op("(", "["):
                    nesting += 1
                elif nesting and t.is_op(")", "]"):
                    nesting -= 1
                elif not nesting and t.is_op(")", ","):
                    break
                param.body.append(t)
            if t.is_op(",") and i + 1 == nparams:
                raise _Err(f"too many parameters for macro '@{name}' (expected {nparams})", t)
            if t.is_op(")") and i + 1 != nparams:
                raise _Err(f"too few parameters for macro '@{name}' (expected {nparams})", t)
        self._acts.append(new)

    def _scan_pp(self) -> Token | None:
        while True:
            state = self._pp[-1][1] if self._pp else "none"
            t = self._skip_pp() if state in ("skip_then", "skip_else") else self._scan_pp1()
            if t is None:
                if state != "none":
                    open_tok = self._pp.pop()[0]
                    raise _Err("incomplete conditional at end of file", open_tok)
                return None
            if t.is_op("%?"):
                raise _Err("incomplete conditional - missing '%('", t)
            if t.is_op("%:"):
                if state == "none":
                    raise _Err("incomplete conditional - missing '%('", t)
                if state in ("keep_else", "skip_else"):
                    raise _Err("invalid conditional - duplicate '%:'", t)
                self._pp[-1] = (
                    self._pp[-1][0],
                    "skip_else" if state == "keep_then" else "keep_else",
                )
                continue
            if t.is_op("%)"):
                if state == "none":
                    raise _Err("incomplete conditional - missing '%('", t)
                self._pp.pop()
                continue
            if not t.is_op("%("):
                return t
            result = False
            and_result = True
            while True:
                left, op, right = self._scan_pp1(), self._scan_pp1(), self._scan_pp1()
                if left is None or op is None or right is None:
                    raise _Err("incomplete condition after '%('", t)
                and_result = _eval_condition(self.ctx, left, op, right) and and_result
                n = self._scan_pp1()
                if n is not None and n.is_op("&&"):
                    continue
                result = result or and_result
                and_result = True
                if not (n is not None and n.is_op("||")):
                    break
            if n is None or not n.is_op("%?"):
                raise _Err("expected '%?' marker for conditional", t)
            self._pp.append((t, "keep_then" if result else "skip_then"))

    def _skip_pp(self) -> Token | None:
        nesting = 0
        while True:
            try:
                t = self._scan_pp1(ignore_macros=True)
            except _Err:
                continue
            if t is None:
                return None
            if t.is_op("%("):
                nesting += 1
            elif nesting and t.is_op("%)"):
                nesting -= 1
            elif not nesting and t.is_op("%:", "%?", "%)"):
                return t

    # ------------------------------------------------------------------ token access
    def peek(self) -> Token | None:
        if self._next is None:
            self._next = self._scan_pp()
        self._last = self._next
        return self._next

    def next(self) -> Token:
        if self._next is None:
            self._next = self._scan_pp()
        if self._next is None:
            raise _Err("unexpected end-of-file")
        t = self._next
        self._last = t
        self._next = None
        return t

    def swallow(self) -> None:
        self._next = None

    def peek_op(self, *ops: str) -> bool:
        t = self.peek()
        return t is not None and t.is_op(*ops)

    def peek_kw(self, *words: str) -> bool:
        t = self.peek()
        return t is not None and t.is_kw(*words)

    def expect_op(self, op: str) -> Token:
        t = self.next()
        if not t.is_op(op):
            raise _Err(f"expected '{op}'")
        return t

    def expect_op_any(self, *ops: str) -> str:
        t = self.next()
        if t.type == OP and t.content in ops:
            return t.content
        raise _Err("expected one of '" + " ".join(ops) + "'")

    def expect_kw(self, word: str) -> Token:
        t = self.next()
        if not t.is_kw(word):
            raise _Err(f"expected '{word}'")
        return t

    def expect_ident(self) -> Token:
        t = self.next()
        if t.type != IDENT:
            raise _Err("expected identifier")
        return t

    def expect_number(self) -> int:
        t = self.next()
        neg = False
        if t.is_op("-"):
            neg = True
            t = self.next()
        if t.type != NUMBER:
            raise _Err("expected number")
        return self._number_value(t, neg)

    @staticmethod
    def _number_value(t: Token, neg: bool) -> int:
        value = _parse_c_integer(t.content)
        if value is None or value > _UINT64_MAX or (neg and value > _INT64_MIN_MAGNITUDE):
            raise _Err("number invalid or out of range", t)
        if neg:
            value = -value
        return wrap(value)  # as C's (int64_t) of an unsigned 64-bit value

    # ------------------------------------------------------------------ top level
    def parse(self) -> ast.ScriptFile:
        """Parse the whole file; raise :class:`ParseError` with every error found."""
        script = ast.ScriptFile(self.source.name)
        while True:
            self._nesting = 0  # an error leaves the levels it was in
            try:
                t = self.peek()
                if t is None:
                    break
                if t.is_kw("probe"):
                    self._in_function = False
                    self.parse_probe(script)
                elif t.is_kw("private"):
                    self.parse_private(script)
                elif t.is_kw("global"):
                    self.next()
                    self.parse_globals(script, None, private=False)
                elif t.is_kw("function"):
                    self.next()
                    self.parse_function(script, private=False)
                elif t.type == EMBEDDED:
                    script.embeds.append(self.parse_embedded())
                else:
                    raise _Err("expected 'probe', 'global', 'private', 'function', or '%{'")
            except _Err as err:
                self._report(err)
                if err.skip_some:
                    self._recover()
        if self.errors:
            count = len(self.errors)
            text = "".join(self.errors)
            text += f"{count} parse error{'s' if count != 1 else ''}.\n"
            text += "Pass 1: parse failed.  [man error::pass1]"
            raise ParseError(text)
        return script

    def _report(self, err: _Err) -> None:
        tok = err.tok if err.tok is not None else self._last
        if tok is None:
            if self.diag._suppress(err.message):
                self.errors.append("")
                return
            self.errors.append(
                f"parse error: {err.message}\n        saw: {self.source.name} EOF\n\n"
            )
        else:
            self.errors.append(self.diag.parse_error(err.message, tok))

    def _recover(self) -> None:
        while True:
            try:
                t = self.peek()
                if t is None:
                    return
                if t.is_kw("probe", "private", "global", "function") or t.type == EMBEDDED:
                    return
                self.swallow()
            except _Err as err:
                self._report(err)
                self.swallow()

    def _nest(self) -> None:
        """One more level of nesting; past deep.MAX_NESTING, the parse ends at once."""
        self._nesting += 1
        if self._nesting > self.max_nesting:
            self.max_nesting = self._nesting
            if self._nesting > deep.MAX_NESTING:
                self._too_deep(self._next or self._last)

    def _too_deep(self, tok: Token | None) -> None:
        where = f": {tok}" if tok is not None else ""
        raise ParseError(f"parse error: nesting deeper than {deep.MAX_NESTING} levels{where}")

    def parse_embedded(self) -> ast.EmbeddedStmt:
        t = self.next()
        if t.type != EMBEDDED:
            raise _Err("expected '%{'")
        if not self.privileged:
            raise _Err("embedded code in unprivileged script; need stap -g", skip_some=False)
        return ast.EmbeddedStmt(t, t.content)

    def parse_private(self, script: ast.ScriptFile) -> None:
        self.next()  # private
        t = self.next()
        if t.is_kw("function"):
            self.parse_function(script, private=True)
        elif t.is_kw("global"):
            self.parse_globals(script, self.expect_ident(), private=True)
        elif t.type == IDENT:
            self.parse_globals(script, t, private=True)
        else:
            raise _Err("expected 'function' or identifier")

    def parse_globals(self, script: ast.ScriptFile, first: Token | None, private: bool) -> None:
        t: Token | None = first
        while True:
            if t is None:
                t = self.next()
            if t.type != IDENT:
                raise _Err("expected identifier")
            for g in script.globals:
                if g.name == t.content:
                    if g.private == private:
                        raise _Err("duplicate global name")
                    raise _Err("global versus private variable declaration conflict")
            decl = ast.VarDecl(t, t.content, is_global=True, private=private)
            script.globals.append(decl)
            n = self.peek()
            if n is not None and n.is_op("%"):
                decl.wrap = True
                self.swallow()
                n = self.peek()
            if n is not None and n.is_op("["):
                self.swallow()
                size = self.expect_number()
                if size <= 0 or size > 2**31 - 1:
                    raise _Err("array size out of range")
                decl.maxsize = size
                self.expect_op("]")
                n = self.peek()
            if n is not None and n.is_op("="):
                if decl.maxsize is not None:
                    raise _Err("only scalar globals can be initialized")
                self.next()
                decl.init = self.parse_literal()
                decl.arity = 0
                n = self.peek()
            if n is not None and n.is_op(";"):
                self.swallow()
                return
            if n is not None and n.is_op(","):
                self.swallow()
                t = None
                continue
            return

    def parse_function(self, script: ast.ScriptFile, private: bool) -> None:
        t = self.next()
        if not (t.type == IDENT or t.is_kw("string", "long")):
            raise _Err("expected identifier")
        name_tok = t
        declared = ast.UNKNOWN
        t = self.next()
        if t.is_op(":"):
            declared = self._parse_type()
            t = self.next()
        if not t.is_op("("):
            raise _Err("expected '('")
        params: list[ast.Param] = []
        while True:
            t = self.next()
            if t.is_op(")"):
                break
            if t.type != IDENT:
                raise _Err("expected identifier")
            if any(p.name == t.content for p in params):
                raise _Err("duplicate parameter names")
            param = ast.Param(t, t.content)
            params.append(param)
            t = self.next()
            if t.is_op(":"):
                param.type = self._parse_type()
                t = self.next()
            if t.is_op(")"):
                break
            if t.is_op(","):
                continue
            raise _Err("expected ',' or ')'")
        priority = 0
        t2 = self.peek()
        if t2 is None:
            raise _Err("expected '{'")
        if t2.is_op(":"):
            self.swallow()
            lit = self.parse_literal()
            if not isinstance(lit, ast.NumberLit):
                raise _Err("expected literal number")
            if lit.value < 1:
                raise _Err("specified priority must be > 0")
            priority = lit.value
        self._in_function = True
        try:
            t2 = self.peek()
            body: ast.Block | ast.EmbeddedStmt
            if t2 is not None and t2.type == EMBEDDED:
                body = self.parse_embedded()
            else:
                body = self.parse_block()
        finally:
            self._in_function = False
        script.functions.append(
            ast.FunctionDecl(name_tok, name_tok.content, params, body, declared, private, priority)
        )

    def _parse_type(self) -> str:
        t = self.next()
        if t.is_kw("string"):
            return ast.STRING
        if t.is_kw("long"):
            return ast.LONG
        raise _Err("expected 'string' or 'long'")

    # ------------------------------------------------------------------ probes
    def parse_probe(self, script: ast.ScriptFile) -> None:
        t0 = self.next()
        names: list[ast.ProbePoint] = []
        locations: list[ast.ProbePoint] = []
        epilogue = False
        while True:
            points = self.parse_probe_points()
            t = self.peek()
            if len(points) == 1 and t is not None and t.is_op("=", "+="):
                if points[0].optional or points[0].sufficient:
                    raise _Err(
                        "probe point alias name cannot be optional nor sufficient",
                        points[0].components[0].tok,
                    )
                names.append(points[0])
                epilogue = epilogue or t.content == "+="
                self.swallow()
                continue
            if t is not None and t.is_op("{"):
                locations.extend(points)
                break
            raise _Err("expected probe point specifier")
        if not names:
            script.probes.append(ast.Probe(t0, locations, self.parse_block()))
            return
        alias = ast.ProbeAlias(t0, names, locations, self.parse_block(), epilogue)
        t = self.peek()
        if t is not None and t.content == ",":
            if epilogue:
                raise _Err("Combined prologue and epilogue cannot be defined with '+='")
            self.swallow()
            alias.body2 = self.parse_block()
        script.aliases.append(alias)

    def parse_probe_points(self) -> list[ast.ProbePoint]:
        points: list[ast.ProbePoint] = []
        while True:
            points.extend(self.parse_components())
            t = self.peek()
            if t is not None and t.is_op(","):
                self.swallow()
                continue
            if t is not None and t.is_op("{", "=", "+=", "}"):
                return points
            raise _Err("expected one of ', { } = +='")

    def parse_components(self) -> list[ast.ProbePoint]:
        points: list[ast.ProbePoint] = []
        while True:
            suffix = self.parse_component()
            if not points:
                points = suffix
            else:
                product = []
                for p in points:
                    if p.optional or p.sufficient or p.condition is not None:
                        raise _Err(
                            "'?', '!' or condition must only be specified in suffix",
                            p.components[0].tok,
                        )
                    for s in suffix:
                        product.append(
                            ast.ProbePoint(
                                p.components + s.components, s.optional, s.sufficient, s.condition
                            )
                        )
                points = product
            t = self.peek()
            if t is not None and t.is_op("."):
                self.swallow()
                continue
            if t is not None and t.is_op("?", "!"):
                for p in points:
                    if p.optional or p.sufficient:
                        raise _Err("'?' or '!' respecified")
                    p.optional = True
                    p.sufficient = t.content == "!"
                self.swallow()
                t = self.peek()
            if t is not None and t.is_kw("if"):
                self.swallow()
                if not self.peek_op("("):
                    raise _Err("expected '('")
                self.swallow()
                cond = self.parse_expression()
                for p in points:
                    if p.condition is not None:
                        raise _Err("condition respecified")
                    p.condition = cond
                if not self.peek_op(")"):
                    raise _Err("expected ')'")
                self.swallow()
            return points

    def parse_component(self) -> list[ast.ProbePoint]:
        t = self.next()
        if not (t.type in (IDENT, KEYWORD) or t.is_op("*", "{")):
            raise _Err("expected identifier or '*' or '{'")
        if t.is_op("{"):
            points = self.parse_probe_points()
            if not self.peek_op("}"):
                raise _Err("expected '}'")
            self.swallow()
            return points
        functor = t.content
        while True:
            u = self.peek()
            if u is None or u.space_before:
                break
            if not (u.type in (IDENT, KEYWORD) or u.is_op("*")):
                break
            functor += u.content
            self.swallow()
        comp = ast.Component(t, functor)
        if self.peek_op("("):
            self.swallow()
            comp.arg = self.parse_literal()
            if not self.next().is_op(")"):
                raise _Err("expected ')'")
        return [ast.ProbePoint([comp])]

    # ------------------------------------------------------------------ literals
    def parse_literal(self) -> ast.Literal:
        t = self.next()
        if t.type == STRING:
            return self._string_literal(t)
        neg = False
        start = t
        if t.is_op("-"):
            neg = True
            t = self.next()
        if t.type != NUMBER:
            raise _Err("expected literal string or number")
        return ast.NumberLit(start if neg else t, self._number_value(t, neg))

    def _string_literal(self, t: Token, for_format: bool = False) -> ast.StringLit:
        content = t.content
        while True:
            n = self.peek()
            if n is None or n.type != STRING:
                break
            content += n.content
            self.next()
        value = decode_string(content, for_format=for_format)
        if not for_format and b"\0" in value:
            value = value[: value.index(b"\0")]  # a C string ends at its first NUL
        return ast.StringLit(t, value, content)

    def parse_literal_string(self, for_format: bool = False) -> ast.StringLit:
        t = self.next()
        if t.type != STRING:
            raise _Err("expected literal string")
        return self._string_literal(t, for_format)

    # ------------------------------------------------------------------ statements
    def parse_block(self) -> ast.Block:
        t = self.next()
        if not t.is_op("{"):
            raise _Err("expected '{'")
        body: list[ast.Stmt] = []
        while True:
            n = self.peek()
            if n is not None and n.is_op("}"):
                self.swallow()
                return ast.Block(t, body)
            body.append(self.parse_statement())

    def parse_statement(self) -> ast.Stmt:
        self._nest()
        stmt = self._parse_statement()
        self._nesting -= 1
        return stmt

    def _parse_statement(self) -> ast.Stmt:
        t = self.peek()
        if t is None:
            raise _Err("expected statement")
        if t.is_op(";"):
            self.next()
            return ast.NullStmt(t)
        if t.is_op("{"):
            return self.parse_block()
        if t.is_kw("try"):
            return self.parse_try()
        if t.is_kw("if"):
            return self.parse_if()
        if t.is_kw("for"):
            return self.parse_for()
        if t.is_kw("foreach"):
            return self.parse_foreach()
        if t.is_kw("while"):
            return self.parse_while()
        stmt: ast.Stmt
        if t.is_kw("return"):
            self.next()
            if not self._in_function:
                raise _Err("found 'return' not in function context")
            n = self.peek()
            if n is None:
                raise _Err("expected ';', '}' or an expression statement")
            value = None if n.is_op(";", "}") else self.parse_expression()
            stmt = ast.Return(t, value)
        elif t.is_kw("delete"):
            self.next()
            stmt = ast.Delete(t, self.parse_expression())
        elif t.is_kw("break"):
            self.next()
            stmt = ast.Break(t)
        elif t.is_kw("continue"):
            self.next()
            stmt = ast.Continue(t)
        elif t.is_kw("next"):
            self.next()
            stmt = ast.Next(t)
        elif t.type in (OP, IDENT, NUMBER, STRING, EMBEDDED):
            stmt = self.parse_expr_statement()
        else:
            raise _Err("expected statement")
        if self.peek_op(";"):
            self.swallow()
        return stmt

    def parse_expr_statement(self) -> ast.ExprStmt:
        t = self.peek()
        if t is None:
            raise _Err("expression statement expected")
        return ast.ExprStmt(t, self.parse_expression())

    def parse_try(self) -> ast.TryBlock:
        t = self.expect_kw("try")
        body = self.parse_block()
        self.expect_kw("catch")
        var = None
        if self.peek_op("("):
            self.swallow()
            n = self.next()
            if n.type != IDENT:
                raise _Err("expected identifier")
            var = ast.Symbol(n, n.content)
            self.expect_op(")")
        return ast.TryBlock(t, body, var, self.parse_block())

    def parse_if(self) -> ast.If:
        """An ``if`` and, in a loop, the ``else if`` chain after it (a chain is no
        nesting: however long, it costs no recursion)."""
        first: ast.If | None = None
        last: ast.If | None = None
        while True:
            t = self.next()
            self.expect_op("(")
            cond = self.parse_expression()
            self.expect_op(")")
            node = ast.If(t, cond, self.parse_statement(), None)
            if last is None:
                first = node
            else:
                last.otherwise = node
            last = node
            if not self.peek_kw("else"):
                break
            self.swallow()
            if not self.peek_kw("if"):
                last.otherwise = self.parse_statement()
                break
        assert first is not None
        return first

    def parse_for(self) -> ast.For:
        t = self.next()
        self.expect_op("(")
        init = None
        if self.peek_op(";"):
            self.swallow()
        else:
            init = self.parse_expr_statement()
            self.expect_op(";")
        cond: ast.Expr
        if self.peek_op(";"):
            cond = ast.NumberLit(self.next(), 1)
        else:
            cond = self.parse_expression()
            self.expect_op(";")
        step = None
        if self.peek_op(")"):
            self.swallow()
        else:
            step = self.parse_expr_statement()
            self.expect_op(")")
        return ast.For(t, init, cond, step, self.parse_statement())

    def parse_while(self) -> ast.For:
        t = self.next()
        self.expect_op("(")
        cond = self.parse_expression()
        self.expect_op(")")
        return ast.For(t, None, cond, None, self.parse_statement(), is_while=True)

    def parse_foreach(self) -> ast.Foreach:
        t = self.next()
        self.expect_op("(")
        keys: list[ast.Symbol] = []
        value: ast.Symbol | None = None
        direction = 0
        column = 0
        lookahead: ast.Symbol | None = None
        lookahead_sort = 0
        n = self.peek()
        if n is not None and n.type == IDENT:
            self.next()
            lookahead = ast.Symbol(n, n.content)
            if self.peek_op("+", "-"):
                lookahead_sort = 1 if self.next().content == "+" else -1
            if self.peek_op("="):
                self.swallow()
                value = lookahead
                if lookahead_sort:
                    direction, column = lookahead_sort, 0
                lookahead = None
                lookahead_sort = 0
        bracketed = False
        if lookahead is None and self.peek_op("["):
            self.swallow()
            bracketed = True
        if lookahead is not None:
            keys.append(lookahead)
            if lookahead_sort:
                direction, column = lookahead_sort, 1
        else:
            while True:
                k = self.next()
                if k.type != IDENT:
                    raise _Err("expected identifier")
                keys.append(ast.Symbol(k, k.content))
                if self.peek_op("+", "-"):
                    if direction:
                        raise _Err("multiple sort directives")
                    direction = 1 if self.next().content == "+" else -1
                    column = len(keys)
                if not bracketed:
                    break
                if self.peek_op(","):
                    self.swallow()
                    continue
                if self.peek_op("]"):
                    self.swallow()
                    break
                raise _Err("expected ',' or ']'")
        n = self.next()
        if not n.is_kw("in"):
            raise _Err("expected 'in'")
        base = self.parse_indexable()
        slice_: list[ast.Expr | None] = []
        if self.peek_op("["):
            self.swallow()
            while True:
                if self.peek_op("*"):
                    self.swallow()
                    slice_.append(None)
                else:
                    slice_.append(self.parse_expression())
                if self.peek_op(","):
                    self.swallow()
                    continue
                if self.peek_op("]"):
                    self.swallow()
                    break
                raise _Err("expected ',' or ']'")
        aggregate: str | None = None
        n2 = self.peek()
        if n2 is not None and n2.type == OP and n2.content.startswith("@"):
            if n2.content not in STAT_OPS:
                raise _Err("expected statistical operation")
            aggregate = STAT_OPS[n2.content]
            self.swallow()
            if not self.peek_op("+", "-"):
                raise _Err("expected sort directive")
        if self.peek_op("+", "-"):
            if direction:
                raise _Err("multiple sort directives")
            direction = 1 if self.next().content == "+" else -1
            column = 0
        limit = None
        if self.peek_kw("limit"):
            self.swallow()
            limit = self.parse_expression()
        if not self.next().is_op(")"):
            raise _Err("expected ')'")
        body = self.parse_statement()
        return ast.Foreach(t, keys, value, base, slice_, direction, column, aggregate, limit, body)

    # ------------------------------------------------------------------ expressions
    def parse_expression(self) -> ast.Expr:
        self._nest()
        left = self.parse_ternary()
        t = self.peek()
        if t is not None and t.type == OP and t.content in ASSIGN_OPS:
            self.next()
            left = ast.Assignment(t, t.content, left, self.parse_expression())
        self._nesting -= 1
        return left

    def parse_ternary(self) -> ast.Expr:
        cond = self.parse_logical_or()
        t = self.peek()
        if t is not None and t.is_op("?"):
            self.next()
            then = self.parse_expression()
            if not self.next().is_op(":"):
                raise _Err("expected ':'")
            self._nest()
            otherwise = self.parse_ternary()
            self._nesting -= 1
            return ast.Ternary(t, cond, then, otherwise)
        return cond

    def _parse_band(self, band: dict[str, int], operand: Callable[[], ast.Expr]) -> ast.Expr:
        """Left-associative binary operators of several precedence levels (``band``: the
        operators and their levels, loosest 0), as stap's one-function-per-level descent
        reads them, in one loop over an operand and operator stack: a chain of any
        length, or any mix of these levels, costs no recursion."""
        operands = [operand()]
        pending: list[tuple[Token, int]] = []
        while (t := self.peek()) is not None and t.type == OP and t.content in band:
            self.next()
            level = band[t.content]
            while pending and pending[-1][1] >= level:
                self._reduce(operands, pending.pop()[0])
            pending.append((t, level))
            operands.append(operand())
        while pending:
            self._reduce(operands, pending.pop()[0])
        return operands[0]

    @staticmethod
    def _reduce(operands: list[ast.Expr], t: Token) -> None:
        right = operands.pop()
        left = operands.pop()
        node: ast.Expr
        if t.content in ("||", "&&"):
            node = ast.Logical(t, t.content, left, right)
        elif t.content == ".":
            node = ast.Concat(t, left, right)
        else:
            node = ast.Binary(t, t.content, left, right)
        operands.append(node)

    def parse_logical_or(self) -> ast.Expr:
        """|| (loosest), &&, |, ^ and & (tightest), over array-in operands."""
        return self._parse_band(_LOW_BAND, self.parse_array_in)

    def parse_array_in(self) -> ast.Expr:
        indexes: list[ast.Expr | None] = []
        bracketed = False
        if self.peek_op("["):
            self.swallow()
            bracketed = True
        while True:
            if bracketed and self.peek_op("*"):
                self.swallow()
                indexes.append(None)
            else:
                indexes.append(self.parse_comparison())
            if not bracketed:
                break
            if self.peek_op(","):
                self.swallow()
                continue
            if self.peek_op("]"):
                self.swallow()
                break
            raise _Err("expected ',' or ']'")
        t = self.peek()
        if t is not None and t.is_kw("in"):
            self.next()
            base = self.parse_indexable()
            return ast.ArrayIn(t, ast.ArrayIndex(base.tok, base, indexes))
        if len(indexes) == 1 and indexes[0] is not None:
            return indexes[0]
        raise _Err("unexpected comma-separated expression list")

    def parse_comparison(self) -> ast.Expr:
        left = self.parse_shift()
        t = self.peek()
        if t is not None and t.is_op("=~", "!~"):
            self.next()
            return ast.RegexMatch(t, t.content, left, self.parse_literal_string())
        while (t := self.peek()) is not None and t.type == OP and t.content in COMPARE_OPS:
            self.next()
            left = ast.Comparison(t, t.content, left, self.parse_shift())
        return left

    def parse_shift(self) -> ast.Expr:
        """<< >> >>> (loosest), ., + -, and * / % (tightest), over unary operands."""
        return self._parse_band(_HIGH_BAND, self.parse_unary)

    def parse_unary(self) -> ast.Expr:
        t = self.peek()
        if t is not None and t.is_op("+", "-", "!", "~"):
            self.next()
            self._nest()
            operand = self.parse_unary()
            self._nesting -= 1
            return ast.Unary(t, t.content, operand)
        return self.parse_crement()

    def parse_crement(self) -> ast.Expr:
        t = self.peek()
        if t is not None and t.is_op("++", "--"):
            self.next()
            return ast.Crement(t, t.content, self.parse_dwarf_value(), prefix=True)
        operand = self.parse_dwarf_value()
        t = self.peek()
        if t is not None and t.is_op("++", "--"):
            self.next()
            return ast.Crement(t, t.content, operand, prefix=False)
        return operand

    def parse_dwarf_value(self) -> ast.Expr:
        addr_tok = self.next() if self.peek_op("&") else None
        t = self.peek()
        tsym: ast.TargetSymbol | None = None
        expr: ast.Expr
        if t is not None and t.type == IDENT and t.content.startswith("$"):
            self.next()
            expr = tsym = ast.TargetSymbol(t, "$", t.content)
        elif t is not None and t.is_op("@cast"):
            expr = tsym = self.parse_cast()
        elif t is not None and t.is_op("@var"):
            expr = tsym = self.parse_atvar()
        else:
            expr = self.parse_value()
            if addr_tok is not None and isinstance(expr, ast.TargetSymbol) and expr.addressof:
                raise _Err("cannot take address more than once", addr_tok)
        if tsym is None and (addr_tok is not None or self._peek_target_components()):
            first = addr_tok or self.peek()
            assert first is not None
            expr = tsym = ast.TargetSymbol(first, "autocast", "", operand=expr)
        if tsym is not None:
            tsym.addressof = addr_tok is not None
            self._parse_target_components(tsym)
        return expr

    def _peek_target_components(self) -> bool:
        t = self.peek()
        return t is not None and (
            t.is_op("->", "[") or (t.type == IDENT and set(t.content) == {"$"})
        )

    def _parse_target_components(self, e: ast.TargetSymbol) -> None:
        pretty = False
        base = e.name
        stripped = base.rstrip("$")
        if e.kind == "$" and 0 < len(stripped) < len(base):
            e.name = stripped
            e.components.append(ast.TargetComponent(e.tok, "pretty", base[len(stripped) :]))
            pretty = True
        while not pretty:
            if self.peek_op("->"):
                t = self.next()
                m = self.next()
                if m.type not in (IDENT, KEYWORD):
                    raise _Err("expected identifier or keyword")
                member = m.content.rstrip("$")
                if member:
                    e.components.append(ast.TargetComponent(t, "member", member))
                if len(member) < len(m.content):
                    e.components.append(ast.TargetComponent(t, "pretty", m.content[len(member) :]))
                    pretty = True
            elif self.peek_op("["):
                t = self.next()
                e.components.append(ast.TargetComponent(t, "index", index=self.parse_expression()))
                self.expect_op("]")
            else:
                break
        if not pretty:
            t2 = self.peek()
            if t2 is not None and t2.type == IDENT and set(t2.content) == {"$"}:
                self.next()
                e.components.append(ast.TargetComponent(t2, "pretty", t2.content))
                pretty = True
        if pretty and self.peek_op("->", "["):
            raise _Err("-> and [ are not accepted for a pretty-printing variable")

    def parse_cast(self) -> ast.TargetSymbol:
        t = self.next()
        self.expect_op("(")
        operand = self.parse_expression()
        self.expect_op(",")
        type_name = self._expect_string_content()
        if not type_name:
            raise _Err("expected non-empty string")
        module = ""
        if self.peek_op(","):
            self.swallow()
            module = self._expect_string_content()
        self.expect_op(")")
        return ast.TargetSymbol(
            t, "@cast", "@cast", operand=operand, type_name=type_name, module=module
        )

    def parse_atvar(self) -> ast.TargetSymbol:
        t = self.next()
        self.expect_op("(")
        name = self._expect_string_content()
        module = ""
        if self.peek_op(","):
            self.swallow()
            module = self._expect_string_content()
        self.expect_op(")")
        return ast.TargetSymbol(t, "@var", name, module=module)

    def _expect_string_content(self) -> str:
        t = self.next()
        if t.type != STRING:
            raise _Err("expected string")
        return self._string_literal(t).value.decode("utf-8", "surrogateescape")

    def parse_value(self) -> ast.Expr:
        t = self.peek()
        if t is None:
            raise _Err("expected value")
        if t.type == EMBEDDED:
            if not self.privileged:
                raise _Err(
                    "embedded expression code in unprivileged script; need stap -g",
                    skip_some=False,
                )
            self.next()
            return ast.EmbeddedExpr(t, t.content)
        if t.is_op("("):
            self.swallow()
            e = self.parse_expression()
            if not self.next().is_op(")"):
                raise _Err("expected ')'")
            return e
        if t.type == IDENT or (t.type == OP and t.content.startswith("@")):
            return self.parse_symbol()
        return self.parse_literal()

    def _hist_op_or_name(self) -> tuple[Token, ast.HistOp | None]:
        t = self.next()
        if not (t.type == IDENT or (t.type == OP and t.content.startswith("@"))):
            raise _Err("expected identifier or statistical operation")
        if t.content in ("@hist_linear", "@hist_log"):
            self.expect_op("(")
            stat = self.parse_expression()
            params: list[int] = []
            if t.content == "@hist_linear":
                for _ in range(3):
                    self.expect_op(",")
                    params.append(self.expect_number())
            self.expect_op(")")
            kind = "linear" if t.content == "@hist_linear" else "log"
            return t, ast.HistOp(t, kind, stat, params)
        return t, None

    def parse_indexable(self) -> ast.Symbol | ast.HistOp:
        t, hop = self._hist_op_or_name()
        if hop is not None:
            return hop
        return ast.Symbol(t, t.content)

    def parse_symbol(self) -> ast.Expr:
        t, hop = self._hist_op_or_name()
        sym: ast.Symbol | None = None
        if hop is None:
            name = t.content
            if name in ("@defined", "@entry"):
                self.expect_op("(")
                operand = self.parse_expression()
                self.expect_op(")")
                if name == "@defined":
                    return ast.Defined(t, operand)
                return ast.Entry(t, operand)
            if name in ("@probewrite",):
                self.expect_op("(")
                ident = self.next()
                if ident.type != IDENT:
                    raise _Err("expected identifier")
                self.expect_op(")")
                return ast.OtherAtOp(t, name, text=ident.content)
            if name == "@const":
                if not self.privileged:
                    raise _Err("using @const operator not permitted; need stap -g", skip_some=False)
                self.expect_op("(")
                text = self._expect_string_content()
                if not text:
                    raise _Err("expected non-empty string")
                self.expect_op(")")
                return ast.OtherAtOp(t, name, text=text)
            if name == "@perf":
                self.expect_op("(")
                lit = self.parse_literal_string()
                if not lit.value:
                    raise _Err("expected non-empty string")
                self.expect_op(")")
                return ast.OtherAtOp(t, name, text=lit.value.decode("utf-8", "surrogateescape"))
            if name in ("@kregister", "@uregister", "@kderef", "@uderef"):
                return self._parse_register_op(t)
            if name.startswith("@"):
                if name not in STAT_OPS:
                    raise _Err(f"unknown operator {name}")
                kind = STAT_OPS[name]
                max_params = 1 if kind == "variance" else 0
                self.expect_op("(")
                stat = self.parse_expression()
                params: list[int] = []
                while True:
                    n = self.next()
                    if n.is_op(")"):
                        break
                    if n.is_op(","):
                        if len(params) >= max_params:
                            count = max_params + 1
                            word = "parameter" if count == 1 else "parameters"
                            raise _Err(f"not more than {count} {word} allowed", n)
                        params.append(self.expect_number())
                        continue
                    raise _Err("expected ',' or ')'", n)
                return ast.StatOp(t, kind, stat, params)
            if name in PRINT_FUNCTIONS:
                return self._parse_print(t, name)
            if self.peek_op("("):
                self.swallow()
                args: list[ast.Expr] = []
                if self.peek_op(")"):
                    self.swallow()
                    return ast.FunctionCall(t, name, args)
                while True:
                    args.append(self.parse_expression())
                    if self.expect_op_any(")", ",") == ")":
                        return ast.FunctionCall(t, name, args)
            sym = ast.Symbol(t, name)
        base: ast.Symbol | ast.HistOp = hop if hop is not None else sym  # type: ignore[assignment]
        if self.peek_op("["):
            self.swallow()
            indexes: list[ast.Expr | None] = []
            while True:
                if self.peek_op("*"):
                    self.swallow()
                    indexes.append(None)
                else:
                    indexes.append(self.parse_expression())
                if self.expect_op_any("]", ",") == "]":
                    return ast.ArrayIndex(t, base, indexes)
        if hop is not None:
            raise _Err("base histogram operator where expression expected", t)
        assert sym is not None
        return sym

    def _parse_register_op(self, t: Token) -> ast.Expr:
        name = t.content
        if name.startswith("@k") and not self.privileged:
            raise _Err(f"using {name} operator not permitted; need stap -g", skip_some=False)
        self.expect_op("(")
        num = self.expect_number()
        args: list[ast.Expr] = [ast.NumberLit(t, num)]
        if name.endswith("deref"):
            self.expect_op(",")
            args.append(self.parse_expression())
        self.expect_op(")")
        return ast.OtherAtOp(t, name, args)

    def _parse_print(self, t: Token, name: str) -> ast.PrintFormat:
        self.expect_op("(")
        node = ast.PrintFormat(t, name, [])
        if name in ("print", "println", "sprint", "sprintln") and self.peek_op(
            "@hist_linear", "@hist_log"
        ):
            htok, hop = self._hist_op_or_name()
            assert hop is not None
            if not self.peek_op("["):
                node.hist = hop
            else:
                self.expect_op("[")
                index = self.parse_expression()
                self.expect_op("]")
                node.args.append(ast.ArrayIndex(htok, hop, [index]))
                while not self.peek_op(")"):
                    self.expect_op_any(",", ")")
                    node.args.append(self.parse_expression())
            self.expect_op(")")
            return node
        min_args = 0
        consumed = False
        if name in ("printf", "sprintf"):
            node.format = self.parse_literal_string(for_format=True).value
            try:
                node.parsed = parse_format(node.format)
            except FormatError as err:
                self.peek()
                raise _Err(err.message) from None
            consumed = True
        elif name in ("printd", "printdln", "sprintd", "sprintdln"):
            node.delimiter = self.parse_literal_string().value
            consumed = True
            min_args = 2
        elif name in ("print", "sprint"):
            min_args = 1
        while min_args or not self.peek_op(")"):
            if consumed:
                self.expect_op_any(",", ")")
            node.args.append(self.parse_expression())
            consumed = True
            if min_args:
                min_args -= 1
        self.expect_op(")")
        return node


def parse_library_macros(
    source: Source, context: PreprocessorContext | None = None
) -> dict[str, Macro]:
    """The ``@define`` macros of a library file (SystemTap's ``.stpm``): visible to every
    script.  A library macro file holds nothing but macro definitions."""
    parser = Parser(source, (), context)
    try:
        t = parser._scan_pp()
        if t is not None:
            raise _Err(f"unexpected token in library macro file '{source.name}'", t)
    except _Err as err:
        parser._report(err)
        text = "".join(parser.errors) + "Pass 1: parse failed.  [man error::pass1]"
        raise ParseError(text) from None
    return parser._macros


def parse(
    source: Source,
    args: Sequence[str] = (),
    context: PreprocessorContext | None = None,
    *,
    privileged: bool = False,
    diagnostics: DiagnosticPrinter | None = None,
    library_macros: dict[str, Macro] | None = None,
) -> ast.ScriptFile:
    """Pass 1: parse ``source``; raises :class:`ParseError` listing every syntax error
    (or saying, in one line, that the script nests deeper than ``deep.MAX_NESTING``)."""
    parser = Parser(
        source,
        args,
        context,
        privileged=privileged,
        diagnostics=diagnostics,
        library_macros=library_macros,
    )
    return deep.run(lambda: _parse(parser, args), ParseError, "Pass 1: parse failed")


def _parse(parser: Parser, args: Sequence[str]) -> ast.ScriptFile:
    source = parser.source
    script = parser.parse()
    if parser.max_nesting > _MEASURE_FROM:
        roots: list[object] = [p.body for p in script.probes]
        roots += [f.body for f in script.functions]
        for a in script.aliases:
            roots += [a.body, a.body2]
            roots += [point.condition for point in a.points]
        for probe in script.probes:
            roots += [point.condition for point in probe.points]
        tok = deep.too_deep(roots, deep.MAX_NESTING)
        if tok is not None:
            parser._too_deep(tok)
    script.unused_args = [i + 1 for i in range(len(args)) if i not in parser.lexer.used_args]
    if not parser.lexer.saw_tokens:
        raise ParseError(f"Input file '{source.name}' is empty.")
    if not (script.probes or script.aliases or script.functions or script.globals or script.embeds):
        raise ParseError(f"Input file '{source.name}' is empty after preprocessing.")
    return script

"""The parse tree printed back as script text (what ``-p1`` shows).

The text is valid SystemTap that parses back to the same tree: parentheses only where
precedence needs them, every string literal as the script spelled it (a printf format or
printd delimiter, kept only as its value, re-escaped), every simple statement ended by
``;``.
"""

from __future__ import annotations

from ..errors import ParseError, SemanticError
from . import ast, deep

# Binding strength of each expression form, as the parser's descent order gives it.
_ASSIGN, _TERNARY, _OR, _AND, _BOR, _BXOR, _BAND, _IN, _CMP, _SHIFT, _CONCAT, _ADD, _MUL = range(
    1, 14
)
_UNARY, _CREMENT, _PRIMARY = 14, 15, 16
_BINARY_LEVEL = {
    "|": _BOR,
    "^": _BXOR,
    "&": _BAND,
    "<<": _SHIFT,
    ">>": _SHIFT,
    ">>>": _SHIFT,
    "+": _ADD,
    "-": _ADD,
    "*": _MUL,
    "/": _MUL,
    "%": _MUL,
}
_ESCAPES = {
    0x07: "\\a",
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0B: "\\v",
    0x0C: "\\f",
    0x0D: "\\r",
    0x5C: "\\\\",
}


def raw_text(value: bytes) -> str:
    """A literal's text as the lexer keeps it (C escapes kept, a quote unescaped) for
    ``value``: a C escape for each byte that cannot be written plainly."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    out: list[str] = []
    if text is not None:
        for ch in text:
            o = ord(ch)
            if o in _ESCAPES:
                out.append(_ESCAPES[o])
            elif o < 0x20 or o == 0x7F:
                out.append("\\%03o" % o)
            else:
                out.append(ch)
    else:
        for b in value:
            if b in _ESCAPES:
                out.append(_ESCAPES[b])
            elif b < 0x20 or b >= 0x7F:
                out.append("\\%03o" % b)
            else:
                out.append(chr(b))
    return "".join(out)


def _quoted(raw: str) -> str:
    # stap's literal_string::print: the kept text, a quote escaped again
    return '"' + raw.replace('"', '\\"') + '"'


def string_literal(value: bytes) -> str:
    """A string literal that the lexer reads back as exactly ``value`` (the parser then
    ends a value at its first NUL, as C ends the string stap emits)."""
    return _quoted(raw_text(value))


def spelling(lit: ast.StringLit) -> str:
    """A string literal's text as stap keeps it: as the script wrote it (stap folds
    ``"\\1" . "2"`` on this text, to a newline), or for a literal the translator made,
    :func:`raw_text` of its value."""
    return lit.raw if lit.raw is not None else raw_text(lit.value)


def number_literal(value: int) -> str:
    # A negative value came from a literal at or above 2**63; print it that way.
    return str(value + (1 << 64)) if value < 0 else str(value)


def literal_text(lit: ast.Literal) -> str:
    if isinstance(lit, ast.StringLit):
        return _quoted(spelling(lit))
    return str(lit.value)


def level(e: ast.Expr) -> int:
    if isinstance(e, ast.Assignment):
        return _ASSIGN
    if isinstance(e, ast.Ternary):
        return _TERNARY
    if isinstance(e, ast.Logical):
        return _OR if e.op == "||" else _AND
    if isinstance(e, ast.Binary):
        return _BINARY_LEVEL[e.op]
    if isinstance(e, ast.ArrayIn):
        return _IN
    if isinstance(e, ast.Comparison | ast.RegexMatch):
        return _CMP
    if isinstance(e, ast.Concat):
        return _CONCAT
    if isinstance(e, ast.Unary):
        return _UNARY
    if isinstance(e, ast.Crement):
        return _CREMENT
    return _PRIMARY


def expr(e: ast.Expr, need: int = _ASSIGN) -> str:
    text = _expr(e)
    if level(e) < need:
        return f"({text})"
    return text


def _args(args: list[ast.Expr]) -> str:
    return ", ".join(expr(a) for a in args)


def _indexes(indexes: list[ast.Expr | None]) -> str:
    return ", ".join("*" if i is None else expr(i) for i in indexes)


def _expr(e: ast.Expr) -> str:
    if isinstance(e, ast.NumberLit):
        return number_literal(e.value)
    if isinstance(e, ast.StringLit):
        return literal_text(e)
    if isinstance(e, ast.Symbol):
        return e.name
    if isinstance(e, ast.Assignment):
        return f"{expr(e.left, _TERNARY)} {e.op} {expr(e.right)}"
    if isinstance(e, ast.Ternary):
        return f"{expr(e.cond, _OR)} ? {expr(e.then)} : {expr(e.otherwise, _TERNARY)}"
    if isinstance(e, deep.CHAINS):
        return _chain(e)
    if isinstance(e, ast.RegexMatch):
        return f"{expr(e.left, _SHIFT)} {e.op} {literal_text(e.pattern)}"
    if isinstance(e, ast.ArrayIn):
        idx = e.index
        if len(idx.indexes) == 1 and idx.indexes[0] is not None:
            first = idx.indexes[0]
            key = expr(first, _CMP)
            if isinstance(first, ast.RegexMatch | ast.Comparison):
                key = f"[{_expr(first)}]"
        else:
            key = f"[{_indexes(idx.indexes)}]"
        return f"{key} in {_indexable(idx.base)}"
    if isinstance(e, ast.Unary):
        operand = expr(e.operand, _UNARY)
        sep = " " if operand[:1] in ("+", "-") and e.op in ("+", "-") else ""
        return f"{e.op}{sep}{operand}"
    if isinstance(e, ast.Crement):
        operand = expr(e.operand, _PRIMARY)
        return f"{e.op}{operand}" if e.prefix else f"{operand}{e.op}"
    if isinstance(e, ast.ArrayIndex):
        return f"{_indexable(e.base)}[{_indexes(e.indexes)}]"
    if isinstance(e, ast.FunctionCall):
        return f"{e.name}({_args(e.args)})"
    if isinstance(e, ast.PrintFormat):
        parts: list[str] = []
        if e.format is not None:
            parts.append(string_literal(e.format))
        if e.delimiter is not None:
            parts.append(string_literal(e.delimiter))
        if e.hist is not None:
            parts.append(_indexable(e.hist))
        parts.extend(expr(a) for a in e.args)
        return f"{e.name}({', '.join(parts)})"
    if isinstance(e, ast.StatOp):
        params = "".join(f", {p}" for p in e.params)
        return f"@{e.kind}({expr(e.stat)}{params})"
    if isinstance(e, ast.HistOp):
        return _indexable(e)
    if isinstance(e, ast.Defined):
        return f"@defined({expr(e.operand)})"
    if isinstance(e, ast.Entry):
        return f"@entry({expr(e.operand)})"
    if isinstance(e, ast.EntrySave):
        return f"@entry({expr(e.value)})"
    if isinstance(e, ast.TargetSymbol):
        return _target(e)
    if isinstance(e, ast.EmbeddedExpr):
        return "%{" + e.code + "%}"
    if isinstance(e, ast.OtherAtOp):
        if e.name in ("@perf", "@const"):
            return f"{e.name}({string_literal(e.text.encode('utf-8', 'surrogateescape'))})"
        if e.name == "@probewrite":
            return f"{e.name}({e.text})"
        return f"{e.name}({_args(e.args)})"
    raise TypeError(f"cannot print {type(e).__name__}")


def _chain(e: ast.Expr) -> str:
    """A binary operator and the chain down its left operand, in a loop: each operand
    printed at the level its place needs (the left one at the operator's own level, the
    right one a level tighter), a link of the chain in parentheses where it binds more
    loosely than the next (as ``(a + b) * c``)."""
    first, nodes = deep.spine(e)
    parts: list[str] = []
    opened = 0  # parentheses around the whole text so far, opened at its start
    for i, node in enumerate(nodes):
        lv = level(node)
        if i == 0:
            text = expr(first, lv)
            if isinstance(node, ast.Comparison) and isinstance(first, ast.RegexMatch):
                text = f"({text})"
            parts.append(text)
        elif level(nodes[i - 1]) < lv:
            opened += 1
            parts.append(")")
        op = "." if isinstance(node, ast.Concat) else node.op  # type: ignore[attr-defined]
        parts.append(f" {op} {expr(node.right, lv + 1)}")  # type: ignore[attr-defined]
    return "(" * opened + "".join(parts)


def _indexable(base: ast.Symbol | ast.HistOp) -> str:
    if isinstance(base, ast.Symbol):
        return base.name
    params = "".join(f", {p}" for p in base.params)
    return f"@hist_{base.kind}({expr(base.stat)}{params})"


def _target(e: ast.TargetSymbol) -> str:
    prefix = "&" if e.addressof else ""
    if e.kind == "$":
        text = e.name
    elif e.kind == "@cast":
        assert e.operand is not None
        module = f", {string_literal(e.module.encode())}" if e.module else ""
        text = f"@cast({expr(e.operand)}, {string_literal(e.type_name.encode())}{module})"
    elif e.kind == "@var":
        module = f", {string_literal(e.module.encode())}" if e.module else ""
        text = f"@var({string_literal(e.name.encode())}{module})"
    else:
        assert e.operand is not None
        text = expr(e.operand, _PRIMARY)
    for c in e.components:
        if c.kind == "member":
            text += f"->{c.name}"
        elif c.kind == "index":
            assert c.index is not None
            text += f"[{expr(c.index)}]"
        else:
            text += c.name if e.kind == "$" and text == e.name else " " + c.name
    return prefix + text


# ---------------------------------------------------------------------- statements


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)


def _block(w: _Writer, b: ast.Block, head: str) -> None:
    w.line(head + "{")
    w.depth += 1
    for s in b.body:
        _stmt(w, s)
    w.depth -= 1
    w.line("}")


def _body(w: _Writer, head: str, s: ast.Stmt, tail: str = "") -> None:
    """``head`` followed by a sub-statement: on the same line if it is a block."""
    if isinstance(s, ast.Block):
        _block(w, s, head + " ")
        if tail:
            w.lines[-1] += tail
        return
    w.line(head)
    w.depth += 1
    _stmt(w, s)
    w.depth -= 1


def _stmt(w: _Writer, s: ast.Stmt) -> None:
    if isinstance(s, ast.Block):
        _block(w, s, "")
    elif isinstance(s, ast.NullStmt):
        w.line(";")
    elif isinstance(s, ast.ExprStmt):
        w.line(expr(s.expr) + ";")
    elif isinstance(s, ast.If):
        # an else-if chain, in a loop: each ``else if`` on one line
        for node in deep.else_chain(s):
            then = node.then
            if node.otherwise is not None and _ends_in_open_if(then):
                then = ast.Block(then.tok, [then])
            _body(w, f"{'' if node is s else 'else '}if ({expr(node.cond)})", then)
            if node.otherwise is not None and not isinstance(node.otherwise, ast.If):
                _body(w, "else", node.otherwise)
    elif isinstance(s, ast.For):
        if s.is_while:
            _body(w, f"while ({expr(s.cond)})", s.body)
        else:
            init = expr(s.init.expr) if s.init else ""
            step = expr(s.step.expr) if s.step else ""
            _body(w, f"for ({init}; {expr(s.cond)}; {step})", s.body)
    elif isinstance(s, ast.Foreach):
        _body(w, f"foreach ({foreach_head(s)})", s.body)
    elif isinstance(s, ast.Return):
        w.line("return;" if s.value is None else f"return {expr(s.value)};")
    elif isinstance(s, ast.Delete):
        w.line(f"delete {expr(s.target)};")
    elif isinstance(s, ast.Next):
        w.line("next;")
    elif isinstance(s, ast.Break):
        w.line("break;")
    elif isinstance(s, ast.Continue):
        w.line("continue;")
    elif isinstance(s, ast.TryBlock):
        _block(w, s.body, "try ")
        var = f"({s.catch_var.name}) " if s.catch_var else ""
        _block(w, s.handler, f"catch {var}")
    elif isinstance(s, ast.EmbeddedStmt):
        w.line("%{" + s.code + "%}")
    else:
        raise TypeError(f"cannot print {type(s).__name__}")


def _ends_in_open_if(s: ast.Stmt) -> bool:
    """Would an ``else`` after ``s`` be taken by an ``if`` inside ``s``?"""
    while True:
        if isinstance(s, ast.If):
            if s.otherwise is None:
                return True
            s = s.otherwise
        elif isinstance(s, ast.For | ast.Foreach):
            s = s.body
        else:
            return False


def foreach_head(s: ast.Foreach) -> str:
    keys = []
    for i, k in enumerate(s.keys, 1):
        mark = ""
        if s.sort_direction and s.sort_column == i:
            mark = "+" if s.sort_direction > 0 else "-"
        keys.append(k.name + mark)
    head = f"{s.value.name} = " if s.value is not None else ""
    head += keys[0] if len(keys) == 1 else f"[{', '.join(keys)}]"
    head += f" in {_indexable(s.base)}"
    if s.slice:
        head += f"[{_indexes(s.slice)}]"
    if s.sort_direction and s.sort_column == 0:
        if s.sort_aggregate:
            head += f" @{s.sort_aggregate}"
        head += "+" if s.sort_direction > 0 else "-"
    if s.limit is not None:
        head += f" limit {expr(s.limit)}"
    return head


def probe_point_text(p: ast.ProbePoint) -> str:
    parts = []
    for c in p.components:
        parts.append(c.functor + (f"({literal_text(c.arg)})" if c.arg is not None else ""))
    text = ".".join(parts)
    if p.sufficient:
        text += "!"
    elif p.optional:
        text += "?"
    if p.condition is not None:
        text += f" if ({expr(p.condition)})"
    return text


def function_head(f: ast.FunctionDecl) -> str:
    ret = f":{f.declared_type}" if f.declared_type != ast.UNKNOWN else ""
    params = ", ".join(p.name + (f":{p.type}" if p.type != ast.UNKNOWN else "") for p in f.params)
    prio = f" :{f.priority}" if f.priority else ""
    private = "private " if f.private else ""
    return f"{private}function {f.name}{ret} ({params}){prio}"


def script_text(script: ast.ScriptFile) -> str:
    """The whole parse tree as script text, with stap's ``-p1`` header."""
    return deep.run(lambda: _script_text(script), ParseError, "Pass 1: parse failed")


def block_lines(b: ast.Block, depth: int = 0) -> list[str]:
    """A block's lines (indented ``depth`` levels), as ``-p1`` prints a block (``-p2 -v``
    lists each probe's and function's body so)."""
    w = _Writer()
    w.depth = depth
    deep.run(lambda: _block(w, b, ""), SemanticError, "Pass 2: analysis failed")
    return w.lines


def _script_text(script: ast.ScriptFile) -> str:
    w = _Writer()
    w.line("# parse tree dump")
    w.line(f"# file {script.source_name}")
    for e in script.embeds:
        w.line("%{" + e.code + "%}")
    for g in script.globals:
        text = ("private " if g.private else "") + "global " + g.name
        if g.wrap:
            text += "%"
        if g.maxsize is not None:
            text += f"[{g.maxsize}]"
        if g.init is not None:
            text += f" = {literal_text(g.init)}"
        w.line(text)
    for a in script.aliases:
        names = ", ".join(probe_point_text(n) for n in a.names)
        points = ", ".join(probe_point_text(p) for p in a.points)
        op = "+=" if a.epilogue else "="
        _block(w, a.body, f"probe {names} {op} {points} ")
        if a.body2 is not None:
            w.lines[-1] += ","
            _block(w, a.body2, "")
    for p in script.probes:
        points = ", ".join(probe_point_text(pp) for pp in p.points)
        _block(w, p.body, f"probe {points} ")
    for f in script.functions:
        if isinstance(f.body, ast.EmbeddedStmt):
            w.line(function_head(f) + " %{" + f.body.code + "%}")
        else:
            _block(w, f.body, function_head(f) + " ")
    return "\n".join(w.lines) + "\n"

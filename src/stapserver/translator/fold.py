"""Constant folding, as stap's optimizer does it before type checking.

Folding is observable in SystemTap: a literal shift by 65 folds to a shift by 64 (that
is, by 0 on x86), while the same shift at run time masks the count to 1; ``if (0)``
removes code before its types are checked; ``@defined`` of anything but a resolvable
target variable is 0; string literals fold on their source text, escapes unevaluated.
This module does the same, over the parse tree, so that scripts mean what they mean
to stap.  ``-u`` (unoptimized) is not honoured: stap folds at every level but -u.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..runtime import ops
from ..runtime.base import INT64_MAX, INT64_MIN, wrap
from . import ast, deep
from .lexer import decode_string
from .unparse import spelling


class FoldError(Exception):
    """What stap's folder refuses (``unsupported binary operator >>>``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def pure(e: ast.Expr) -> bool:
    """No side effects (no assignment, increment, call or output): folding may drop it."""
    from .semantic import _walk_expr

    return not any(isinstance(x, _EFFECTS) for x in _walk_expr(e))


_EFFECTS = (ast.Assignment, ast.Crement, ast.FunctionCall, ast.PrintFormat, ast.EmbeddedExpr)


def _num(e: ast.Expr) -> int | None:
    return e.value if isinstance(e, ast.NumberLit) else None


def _string(e: ast.Expr) -> ast.StringLit | None:
    return e if isinstance(e, ast.StringLit) else None


def _lit(tok: object, value: int) -> ast.NumberLit:
    return ast.NumberLit(tok, value)  # type: ignore[arg-type]


def _fold_binary(e: ast.Binary) -> ast.Expr:
    """A binary operator whose operands are folded already."""
    left, right, op = _num(e.left), _num(e.right), e.op
    if right == 0 and op in ("/", "%"):
        return e  # a run-time error, if it is ever reached
    if left is not None and right is not None:
        if op in ("+", "-", "*"):
            value = left + right if op == "+" else left - right if op == "-" else left * right
            value = wrap(value)
        elif op in ("&", "|", "^"):
            value = left & right if op == "&" else left | right if op == "|" else left ^ right
        elif op in (">>", "<<"):
            count = max(min(right, 64), 0) & 63  # C's shift by 64 is x86's shift by 0
            value = left >> count if op == ">>" else wrap(left << count)
        elif op == "/":  # the run time's arithmetic (the divisor is not 0: see above)
            value = ops.div(left, right, "")
        elif op == "%":
            value = ops.mod(left, right, "")
        else:
            raise FoldError(f"unsupported binary operator {op}")
        return _lit(e.tok, value)
    if (
        left is not None
        and ((left == 0 and op in ("*", "&", ">>", "<<")) or (left == -1 and op in ("|", ">>")))
    ) or (
        right is not None
        and (
            (right == 0 and op in ("*", "&"))
            or (right == 1 and op == "%")
            or (right == -1 and op in ("%", "|"))
        )
    ):
        other = e.right if left is not None else e.left
        if not pure(other):
            return e
        if left is not None:
            return _lit(e.tok, left)
        assert right is not None
        return _lit(e.tok, 0 if op == "%" else right)
    if (
        left is not None
        and (
            (left == 0 and op in ("+", "|", "^"))
            or (left == 1 and op == "*")
            or (left == -1 and op == "&")
        )
    ) or (
        right is not None
        and (
            (right == 0 and op in ("+", "-", "|", "^"))
            or (right == 1 and op in ("*", "/"))
            or (right == -1 and op == "&")
            or (right <= 0 and op in (">>", "<<"))
        )
    ):
        return e.right if left is not None else e.left
    return e


def _fold_logical(e: ast.Logical) -> ast.Expr:
    left, right = _num(e.left), _num(e.right)
    is_or = e.op == "||"
    if left is not None and right is not None:
        value = int(bool(left) or bool(right)) if is_or else int(bool(left) and bool(right))
        return _lit(e.tok, value)

    def decisive(v: int) -> bool:
        return v != 0 if is_or else v == 0

    if (left is not None and decisive(left)) or (right is not None and decisive(right)):
        if right is not None and not pure(e.left):
            return e
        return _lit(e.tok, 1 if is_or else 0)
    return e


def _fold_comparison(e: ast.Comparison) -> ast.Expr:
    ls, rs = _string(e.left), _string(e.right)
    ln, rn = _num(e.left), _num(e.right)
    if ls is not None and rs is not None:
        a, b = spelling(ls), spelling(rs)
        comp = (a > b) - (a < b)
    elif ln is not None and rn is not None:
        comp = (ln > rn) - (ln < rn)
    elif (
        ln is not None
        and ((ln == INT64_MIN and e.op in ("<=", ">")) or (ln == INT64_MAX and e.op in (">=", "<")))
    ) or (
        rn is not None
        and ((rn == INT64_MIN and e.op in (">=", "<")) or (rn == INT64_MAX and e.op in ("<=", ">")))
    ):
        other = e.right if ln is not None else e.left
        if not pure(other):
            return e
        return _lit(e.tok, 1 if len(e.op) == 2 else 0)
    else:
        return e
    value = {
        "==": comp == 0,
        "!=": comp != 0,
        "<": comp < 0,
        ">": comp > 0,
        "<=": comp <= 0,
        ">=": comp >= 0,
    }[e.op]
    return _lit(e.tok, int(value))


def _fold_concat(e: ast.Concat) -> ast.Expr:
    ls, rs = _string(e.left), _string(e.right)
    if ls is not None and rs is not None:
        raw = spelling(ls) + spelling(rs)
        value = decode_string(raw)
        if b"\0" in value:
            value = value[: value.index(b"\0")]
        return ast.StringLit(e.tok, value, raw)
    if (ls is not None and not ls.value and not spelling(ls)) or (
        rs is not None and not rs.value and not spelling(rs)
    ):
        return e.right if ls is not None else e.left
    return e


_FOLD_NODE: dict[type, Callable[[Any], ast.Expr]] = {
    ast.Binary: _fold_binary,
    ast.Logical: _fold_logical,
    ast.Comparison: _fold_comparison,
    ast.Concat: _fold_concat,
}


def _fold_chain(e: ast.Expr) -> ast.Expr:
    """A binary operator and the chain down its left operand, in a loop (as the
    recursion would: the first operand, then each node's right operand and the node)."""
    first, nodes = deep.spine(e)
    current = fold(first)
    for node in nodes:
        node.left = current  # type: ignore[attr-defined]
        node.right = fold(node.right)  # type: ignore[attr-defined]
        current = _FOLD_NODE[type(node)](node)
    return current


_targets: frozenset[str] | None = None


def defined_targets(names: frozenset[str] | None) -> None:
    """The target variables the handler being folded can read (a kernel.trace
    handler's event fields); None elsewhere."""
    global _targets
    _targets = names


def defined_value(operand: ast.Expr) -> int:
    """``@defined(x)`` as stap 4.8 folds it here: 1 for a literal or a target variable
    the handler can read (:func:`defined_targets`), 0 otherwise (4.8 folds any other
    surviving @defined to 0)."""
    if isinstance(operand, ast.NumberLit | ast.StringLit):
        return 1
    if (
        isinstance(operand, ast.TargetSymbol)
        and operand.kind == "$"
        and not operand.components
        and _targets is not None
    ):
        return 1 if operand.name in _targets else 0
    return 0


def fold(e: ast.Expr) -> ast.Expr:
    """``e`` with its constant parts folded (may return another node)."""
    if isinstance(e, ast.Defined):
        return _lit(e.tok, defined_value(e.operand))
    if isinstance(e, deep.CHAINS):
        return _fold_chain(e)
    if isinstance(e, ast.Unary):
        e.operand = fold(e.operand)
        v = _num(e.operand)
        if v is None:
            return e
        if e.op == "-":
            v = ops.neg(v)
        elif e.op == "!":
            v = int(not v)
        elif e.op == "~":
            v = ~v
        return _lit(e.tok, v)
    if isinstance(e, ast.Ternary):
        e.cond = fold(e.cond)
        c = _num(e.cond)
        if c is not None:
            return fold(e.then if c else e.otherwise)
        e.then = fold(e.then)
        e.otherwise = fold(e.otherwise)
        return e
    from .semantic import _expr_children

    for name, child in _expr_children(e):
        if isinstance(child, list):
            for i, c in enumerate(child):
                if c is not None:
                    child[i] = fold(c)
        elif isinstance(child, ast.HistOp):
            child.stat = fold(child.stat)
        elif isinstance(child, ast.ArrayIndex):
            for j, index in enumerate(child.indexes):
                if index is not None:
                    child.indexes[j] = fold(index)
        elif isinstance(child, ast.Expr):
            setattr(e, name, fold(child))
    if isinstance(e, ast.TargetSymbol):
        for comp in e.components:
            if comp.index is not None:
                comp.index = fold(comp.index)
    return e


def fold_stmt(s: ast.Stmt) -> ast.Stmt:
    """``s`` with constant conditions decided and their dead branches removed."""
    if isinstance(s, ast.Block):
        s.body = [fold_stmt(x) for x in s.body]
        return s
    if isinstance(s, ast.ExprStmt):
        s.expr = fold(s.expr)
        return s
    if isinstance(s, ast.If):
        return _fold_if(s)
    if isinstance(s, ast.For):
        s.cond = fold(s.cond)
        c = _num(s.cond)
        if c is not None and not c:
            if s.init is not None:
                return fold_stmt(s.init)
            return ast.NullStmt(s.tok)
        if s.init is not None:
            s.init.expr = fold(s.init.expr)
        if s.step is not None:
            s.step.expr = fold(s.step.expr)
        s.body = fold_stmt(s.body)
        return s
    if isinstance(s, ast.Foreach):
        if s.limit is not None:
            s.limit = fold(s.limit)
            lim = _num(s.limit)
            if lim is not None and lim <= 0:
                return ast.NullStmt(s.tok)
        s.slice = [None if x is None else fold(x) for x in s.slice]
        if isinstance(s.base, ast.HistOp):
            s.base.stat = fold(s.base.stat)
        s.body = fold_stmt(s.body)
        return s
    if isinstance(s, ast.Return) and s.value is not None:
        s.value = fold(s.value)
    elif isinstance(s, ast.Delete):
        s.target = fold(s.target)
    elif isinstance(s, ast.TryBlock):
        fold_stmt(s.body)
        fold_stmt(s.handler)
    return s


def _fold_if(s: ast.If) -> ast.Stmt:
    """An ``if`` and its ``else if`` chain, in a loop: a constant condition keeps only
    the branch it takes (nothing, for a false one without ``else``)."""
    top: ast.Stmt | None = None
    parent: ast.If | None = None  # the last if kept: the folded rest is its else

    def put(stmt: ast.Stmt) -> None:
        nonlocal top
        if parent is None:
            top = stmt
        else:
            parent.otherwise = stmt

    node: ast.Stmt | None = s
    while node is not None:
        if not isinstance(node, ast.If):
            put(fold_stmt(node))
            break
        node.cond = fold(node.cond)
        c = _num(node.cond)
        if c is not None:
            if c:
                put(fold_stmt(node.then))
                break
            if node.otherwise is None:
                put(ast.NullStmt(node.tok))
            node = node.otherwise  # the else branch takes this one's place
            continue
        node.then = fold_stmt(node.then)
        put(node)
        parent = node
        node = node.otherwise
    assert top is not None
    return top

"""Structural views of parse trees, for comparing trees without their tokens.

``shape(node)`` turns a tree into nested tuples and lists: every dataclass node becomes
``(ClassName, (field, value), ...)`` over the fields pass 1 fills in, so two trees parsed
from different texts compare equal exactly when they mean the same program (a string
literal's text is kept: stap folds ``"\\1" . "2"`` on it, to a newline).  Tokens
(locations), and everything pass 2 fills in (types, declarations, arities), are left out.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stapserver.translator import ast
from stapserver.translator.parser import PreprocessorContext, parse
from stapserver.translator.source import Source
from stapserver.translator.unparse import spelling

# Fields that are not part of a program's meaning as pass 1 reads it.
_SKIPPED = frozenset(
    [
        "tok",
        "decl",
        "parsed",
        "builtin",
        "arity",
        "index_types",
        "read",
        "written",
        "hist_specs",
        "bit_shift",
        "locals",
        "source_name",
    ]
)


def shape(node: Any) -> Any:
    if isinstance(node, list):
        return [shape(x) for x in node]
    if isinstance(node, tuple):
        return tuple(shape(x) for x in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        parts: list[Any] = [type(node).__name__]
        for f in dataclasses.fields(node):
            if f.name in _SKIPPED:
                continue
            # ``type`` is pass 2's inference everywhere except a parameter's declared type
            if f.name == "type" and not isinstance(node, ast.Param):
                continue
            if f.name == "raw" and isinstance(node, ast.StringLit):
                # a literal's text (stap folds on it): one the translator made without a
                # text is spelled as the printer spells its value
                parts.append((f.name, spelling(node)))
                continue
            parts.append((f.name, shape(getattr(node, f.name))))
        return tuple(parts)
    return node


def parse_text(text: str, *, args: tuple[str, ...] = (), **kw: Any) -> ast.ScriptFile:
    ctx = kw.pop("context", None) or PreprocessorContext(kernel_release="6.1.0-57-amd64")
    return parse(Source("<input>", text), args, ctx, **kw)


def probe_body(text: str) -> list[ast.Stmt]:
    """The statements of the only probe of ``probe begin { TEXT }``."""
    script = parse_text("probe begin { " + text + " }")
    return script.probes[0].body.body


def expr_of(text: str) -> ast.Expr:
    """The expression of ``probe begin { TEXT }`` (one expression statement)."""
    (stmt,) = probe_body(text)
    assert isinstance(stmt, ast.ExprStmt), stmt
    return stmt.expr


def sexpr(e: ast.Expr | None) -> Any:
    """A compact prefix form of an expression tree, for precedence tests:
    ``a + b * c`` is ``('+', 'a', ('*', 'b', 'c'))``."""
    if e is None:
        return "*"
    if isinstance(e, ast.Symbol):
        return e.name
    if isinstance(e, ast.NumberLit):
        return e.value
    if isinstance(e, ast.StringLit):
        return e.value
    if isinstance(e, ast.Binary | ast.Logical | ast.Comparison):
        return (e.op, sexpr(e.left), sexpr(e.right))
    if isinstance(e, ast.Concat):
        return (".", sexpr(e.left), sexpr(e.right))
    if isinstance(e, ast.Assignment):
        return (e.op, sexpr(e.left), sexpr(e.right))
    if isinstance(e, ast.RegexMatch):
        return (e.op, sexpr(e.left), e.pattern.value)
    if isinstance(e, ast.Ternary):
        return ("?:", sexpr(e.cond), sexpr(e.then), sexpr(e.otherwise))
    if isinstance(e, ast.Unary):
        return ("u" + e.op, sexpr(e.operand))
    if isinstance(e, ast.Crement):
        return (("pre" if e.prefix else "post") + e.op, sexpr(e.operand))
    if isinstance(e, ast.ArrayIn):
        return ("in", [sexpr(i) for i in e.index.indexes], sexpr(e.index.base))
    if isinstance(e, ast.ArrayIndex):
        return ("[]", sexpr(e.base), [sexpr(i) for i in e.indexes])
    if isinstance(e, ast.FunctionCall):
        return ("call", e.name, [sexpr(a) for a in e.args])
    return shape(e)

"""Filters pass 2 can prove for a kernel.trace handler, to run in the kernel.

A handler whose work is all under one ``if`` (after plain assignments of locals, as a
tapset alias's prologue makes) does nothing for an event that fails a conjunct of that
condition.  Conjuncts the kernel's BPF program can test before anything is copied are
listed here, so such events never reach user space:

- ``pid() == target()``, ``pid()``/``tid()``/``uid()``/``gid()`` against a constant;
- ``execname() == "name"`` (or ``!=``);
- an event field (``$fd``, or a local assigned ``$fd``, ``__int32($fd)``...) against
  a constant, with ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``.

The handler still tests the whole condition: the kernel's filters only drop events
early.  A filter is a tuple the runtime turns into a BPF test (runtime/events.py):
``(what, op, value)`` with ``what`` one of pid tid uid gid comm, value an int, bytes,
or "target"; or ``("field", op, value, name, size, signed)``: ``size`` bytes from the
start of field ``name`` (a low half for ``__int32``), signed or not.
"""

from __future__ import annotations

from . import ast

Filter = tuple[object, ...]

_SWAP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_CONTEXT = {"pid": "pid", "tid": "tid", "uid": "uid", "gid": "gid"}
# conversions of a field that read part of it: (size, signed); None: the whole field
_CONVERSIONS: dict[str, tuple[int, bool] | None] = {
    "__int32": (4, True),
    "__uint32": (4, False),
    "__short": (2, True),
    "__ushort": (2, False),
    "__long": None,
    "__ulong": None,
}


def _statements(body: ast.Stmt) -> list[ast.Stmt]:
    out: list[ast.Stmt] = []
    stack = [body]
    while stack:
        s = stack.pop()
        if isinstance(s, ast.Block):
            stack.extend(reversed(s.body))
        elif not isinstance(s, ast.NullStmt):
            out.append(s)
    return out


def _field_value(e: ast.Expr) -> tuple[str, int, bool] | None:
    """``$f`` (the whole field) or a conversion of it: (field, size or 0, signed)."""
    if isinstance(e, ast.TargetSymbol) and e.binding is not None:
        name = getattr(e.binding, "name", None)
        if isinstance(name, str) and getattr(e.binding, "kind", "") == "long":
            return (name, 0, True)
        return None
    if (
        isinstance(e, ast.FunctionCall)
        and e.decl is None
        and e.name in _CONVERSIONS
        and len(e.args) == 1
    ):
        inner = _field_value(e.args[0])
        conv = _CONVERSIONS[e.name]
        if inner is None or inner[1] != 0:
            return None
        return inner if conv is None else (inner[0], conv[0], conv[1])
    return None


def _is_pure(e: ast.Expr) -> bool:
    """No user function (which may print or write globals), no assignment."""
    from .semantic import _walk_expr

    for x in _walk_expr(e):
        if isinstance(x, ast.FunctionCall) and (x.decl is not None or x.overloads):
            return False
        if isinstance(x, ast.Assignment | ast.Crement | ast.PrintFormat):
            return False
    return True


def _operand(e: ast.Expr, fields: dict[int, tuple[str, int, bool]]) -> Filter | None:
    """What a side of a comparison is, if the kernel can test it."""
    if isinstance(e, ast.FunctionCall) and e.decl is None and not e.args:
        if e.name in _CONTEXT:
            return ("ctx", _CONTEXT[e.name])
        if e.name == "execname":
            return ("comm",)
        if e.name == "target":
            return ("target",)
        return None
    if isinstance(e, ast.Symbol) and e.decl is not None and id(e.decl) in fields:
        return ("field", *fields[id(e.decl)])
    value = _field_value(e)
    if value is not None:
        return ("field", *value)
    return None


def _conjunct(c: ast.Expr, fields: dict[int, tuple[str, int, bool]]) -> Filter | None:
    if not isinstance(c, ast.Comparison) or c.op not in _SWAP:
        return None
    left, op, right = c.left, c.op, c.right
    subject = _operand(left, fields)
    if subject is None or subject[0] in ("target",):
        subject, left, right, op = _operand(right, fields), right, left, _SWAP[op]
    if subject is None:
        return None
    if subject[0] == "comm":
        if isinstance(right, ast.StringLit) and op in ("==", "!="):
            return ("comm", op, right.value)
        return None
    if isinstance(right, ast.NumberLit):
        value: object = right.value
    elif _operand(right, fields) == ("target",):
        value = "target"
    else:
        return None
    if subject[0] == "ctx":
        return (subject[1], op, value)
    if subject[0] == "field":
        _, name, size, signed = subject
        return ("field", op, value, name, size, signed)
    return None


def kernel_filters(body: ast.Block) -> list[Filter]:
    """The filters of ``body`` (a kernel.trace handler, after pass 2) the kernel can
    test; [] when none can be proved."""
    stmts = _statements(body)
    if not stmts or not isinstance(stmts[-1], ast.If) or stmts[-1].otherwise is not None:
        return []
    fields: dict[int, tuple[str, int, bool]] = {}
    assigned: set[int] = set()
    for s in stmts[:-1]:
        if not (
            isinstance(s, ast.ExprStmt)
            and isinstance(s.expr, ast.Assignment)
            and s.expr.op == "="
            and isinstance(s.expr.left, ast.Symbol)
            and s.expr.left.decl is not None
            and not s.expr.left.decl.is_global
            and _is_pure(s.expr.right)
        ):
            return []
        decl = s.expr.left.decl
        if id(decl) in assigned:
            fields.pop(id(decl), None)
        assigned.add(id(decl))
        value = _field_value(s.expr.right)
        if value is not None:
            fields[id(decl)] = value
    cond = stmts[-1].cond
    conjuncts: list[ast.Expr] = []
    stack = [cond]
    while stack:
        c = stack.pop()
        if isinstance(c, ast.Logical) and c.op == "&&":
            stack.append(c.right)
            stack.append(c.left)
        else:
            conjuncts.append(c)
    out = []
    for c in conjuncts:
        f = _conjunct(c, fields)
        if f is not None:
            out.append(f)
    return out

"""How deep a script may nest, and the one place the translator recurses that deep.

A script's parse tree is as deep as the script nests: blocks in blocks, parentheses in
parentheses, a unary operator on a unary operator.  Long *chains* are not nesting: the
parser reads ``a + b - c ...`` (any mix of left-associative binary operators) in a loop,
an ``else if`` chain in a loop, and every tree walk of the translator (the ``-p1``
printer, constant folding, pass 2, pass 3) goes along such a chain in a loop too
(:func:`spine`, :func:`else_chain`, the walks with a stack of their own), so a sum of a
hundred thousand terms costs no recursion at all.

What is left is real nesting, and the walks over it recurse.  They are bounded:

* the parser refuses, with a one-line :class:`ParseError`, a script nested more than
  :data:`MAX_NESTING` levels (a level: a statement in a statement, an expression in
  parentheses, an argument or an index, a unary operator, the right side of an
  assignment, the ``:`` branch of ``?:``), or whose tree is deeper than that
  (:func:`too_deep`).  SystemTap 4.8 itself crashes on some 7,000 nested parentheses;
* the passes that walk the tree run here (:func:`run`), in a thread with a
  :data:`STACK_SIZE` stack and a recursion limit of :data:`RECURSION_LIMIT`: room for
  the parser at the deepest script it accepts (at most fourteen Python frames a level:
  ``sprintf("%s", sprintf(...))``), the tree walks need fewer.  The stack is large
  enough for the interpreter to raise :class:`RecursionError` long before the C stack
  could overflow, whatever recursed: CPython 3.11 uses no C stack for a call from
  Python to Python, and at most some 2.6 KB for each level counted against the limit
  when the recursion goes through C (``sorted`` with a key function, the worst measured;
  a generator's ``yield from``, 1.3 KB), against 5 KB of stack a level here.  So a walk
  deeper than planned still ends in a one-line typed error, never in a crash.

The generated Python module is kept within what CPython's own compiler accepts (200
nested parentheses, 100 levels of indentation, 20 nested loops and try blocks, about a
thousand nested expressions): pass 3 writes deep and long expressions as flat sequences
of statements and outlines deep statements into functions of their own (``codegen``).
"""

from __future__ import annotations

import _thread
import copy
import dataclasses
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ..errors import StapError
from . import ast
from .source import Token

T = TypeVar("T")

MAX_NESTING = 10_000
RECURSION_LIMIT = 200_000
STACK_SIZE = 1 << 30

_lock = _thread.allocate_lock()
_active = 0  # deep calls running (the recursion limit is raised while any is)
_saved_limit = 0
_local = _thread._local()


def _inside() -> bool:
    return bool(getattr(_local, "deep", False))


class _Outcome:
    __slots__ = ("error", "value")

    def __init__(self) -> None:
        self.value: object = None
        self.error: BaseException | None = None


def _enter() -> None:
    global _active, _saved_limit
    with _lock:
        if _active == 0:
            _saved_limit = sys.getrecursionlimit()
            if _saved_limit < RECURSION_LIMIT:
                sys.setrecursionlimit(RECURSION_LIMIT)
        _active += 1


def _leave() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active == 0 and sys.getrecursionlimit() == RECURSION_LIMIT != _saved_limit:
            sys.setrecursionlimit(_saved_limit)


def _start(body: Callable[[], None]) -> bool:
    """Start ``body`` in a thread with a :data:`STACK_SIZE` stack; False if impossible
    (an address-space limit too small for it, say)."""
    with _lock:
        try:
            old = _thread.stack_size(STACK_SIZE)
        except (ValueError, _thread.error):
            return False
        try:
            _thread.start_new_thread(body, ())
        except (RuntimeError, MemoryError):
            return False
        finally:
            _thread.stack_size(old)
    return True


def run(fn: Callable[[], T], error: Callable[[str], StapError], what: str) -> T:
    """``fn()``, with room to recurse as deep as the deepest script the parser accepts.

    A :class:`RecursionError` that still escapes (which the nesting limit should make
    impossible) becomes ``error(message)``, a one-line typed error: ``what`` (say,
    ``Pass 2: analysis failed``) and that the script nests too deeply."""
    if _inside():
        return fn()
    outcome = _Outcome()
    done = _thread.allocate_lock()
    done.acquire()

    def body() -> None:
        _local.deep = True
        try:
            outcome.value = fn()
        except BaseException as err:  # handed to the caller's thread
            outcome.error = err
        finally:
            _local.deep = False
            done.release()

    _enter()
    try:
        started = _start(body)
        if started:
            done.acquire()
    finally:
        _leave()
    if not started:
        body()  # no thread to be had: here, within this thread's own limits
    err = outcome.error
    if isinstance(err, RecursionError):
        raise error(f"{what}: the script nests too deeply") from None
    if err is not None:
        raise err
    return outcome.value  # type: ignore[return-value]


# ---------------------------------------------------------------------- chains


CHAINS = (ast.Binary, ast.Logical, ast.Comparison, ast.Concat)


def spine(e: ast.Expr) -> tuple[ast.Expr, list[ast.Expr]]:
    """A left-associative chain ``((x0 op x1) op x2) ...``: its first operand ``x0`` and
    the chain's nodes from the innermost (``x0 op x1``) out to ``e``.  The chain goes on
    down the left operand as long as that is a node of the same class as ``e`` (any
    operator): what the tree walks go along in a loop."""
    nodes: list[ast.Expr] = [e]
    cls = type(e)
    left: ast.Expr = e.left  # type: ignore[attr-defined]
    while type(left) is cls:
        nodes.append(left)
        left = left.left  # type: ignore[attr-defined]
    nodes.reverse()
    return left, nodes


def else_chain(s: ast.If) -> Iterator[ast.If]:
    """``s`` and the ``else if`` statements chained to it, in order."""
    node: ast.Stmt | None = s
    while isinstance(node, ast.If):
        yield node
        node = node.otherwise


# ---------------------------------------------------------------------- tree depth

_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(node: object) -> tuple[str, ...]:
    cls = type(node)
    names = _FIELDS.get(cls)
    if names is None:
        skip = {"tok", "decl", "overloads", "parsed", "pattern"}
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in skip)  # type: ignore[arg-type]
        _FIELDS[cls] = names
    return names


_NODES = (ast.Expr, ast.Stmt, ast.TargetComponent)


def too_deep(roots: Iterable[object], limit: int) -> Token | None:
    """The token of a node of the trees ``roots`` deeper than ``limit``, or None.

    Depth as the tree walks recurse: one level per node, except along a chain (the left
    operand of a node of the same class, an ``else if``), which the walks go along in a
    loop."""
    stack: list[tuple[object, int]] = [(r, 1) for r in roots if isinstance(r, _NODES)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return getattr(node, "tok", None)
        cls = type(node)
        for name in _child_fields(node):
            value = getattr(node, name)
            if isinstance(value, list):
                stack.extend((x, depth + 1) for x in value if isinstance(x, _NODES))
            elif isinstance(value, _NODES):
                chained = type(value) is cls and (
                    (name == "left" and cls in CHAINS) or (name == "otherwise" and cls is ast.If)
                )
                stack.append((value, depth if chained else depth + 1))
    return None


# ---------------------------------------------------------------------- copying


def copy_tree(root: T, memo: dict[int, Any]) -> T:
    """``copy.deepcopy(root, memo)`` for a parse tree of any depth: the tree's nodes
    and lists are copied with a stack of their own, everything else (tokens, parsed
    formats) by ``copy.deepcopy`` with the same ``memo`` (so what it holds is shared,
    and what is reached twice is copied once)."""
    work: list[tuple[Any, Any, Any]] = []  # (copy, field name or index, original value)

    def clone(x: Any) -> Any:
        done = memo.get(id(x))
        if done is not None:
            return done
        if isinstance(x, list):
            new: Any = list(x)
            work.extend((new, i, v) for i, v in enumerate(x))
        else:
            new = object.__new__(type(x))
            new.__dict__.update(x.__dict__)
            work.extend((new, k, v) for k, v in x.__dict__.items())
        memo[id(x)] = new
        return new

    top = clone(root)
    while work:
        container, key, value = work.pop()
        if isinstance(value, (list, *_NODES)):
            value = clone(value)
        elif not isinstance(value, str | int | bytes | type(None)):
            value = copy.deepcopy(value, memo)
        if isinstance(container, list):
            container[key] = value
        else:
            container.__dict__[key] = value
    return top  # type: ignore[no-any-return]


__all__ = [
    "MAX_NESTING",
    "RECURSION_LIMIT",
    "STACK_SIZE",
    "copy_tree",
    "else_chain",
    "run",
    "spine",
    "too_deep",
]

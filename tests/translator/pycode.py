"""What CPython's compiler limits in generated Python source, measured for tests."""

from __future__ import annotations

import io
import tokenize


def python_depths(code: str) -> tuple[int, int]:
    """The deepest indentation (levels of four spaces) and bracket nesting of Python
    source: what CPython's tokenizer limits to 100 and 200.  Brackets inside string
    literals do not count (the tokenizer reads them)."""
    indent = max((len(line) - len(line.lstrip(" "))) // 4 for line in code.splitlines())
    deepest = depth = 0
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
    return indent, deepest

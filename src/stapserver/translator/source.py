"""Script sources, tokens and the stap-style rendering of diagnostics.

SystemTap reports a problem by naming a token (``operator '}' at <input>:1:24``) and
quoting the source line with a caret under the token's column.  Everything here is pure
formatting over :class:`Source` and :class:`Token`; the lexer makes the tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Token types, spelled as stap prints them.
JUNK = "junk"
IDENT = "identifier"
OP = "operator"
STRING = "string"
NUMBER = "number"
EMBEDDED = "embedded-code"
KEYWORD = "keyword"


@dataclass(eq=False)
class Source:
    """One script file: its name as stap shows it (``<input>`` for ``-e``) and its text."""

    name: str
    text: str
    _lines: list[str] | None = field(default=None, repr=False)

    def line(self, number: int) -> str:
        """The text of line ``number`` (1-based), without its newline."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return ""


@dataclass(frozen=True, slots=True)
class Location:
    source: Source
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.source.name}:{self.line}:{self.column}"


@dataclass(slots=True, eq=False)
class Token:
    """A lexical token.  ``content`` is the text stap keeps for it (for a string, the
    characters between the quotes with stap's escape handling applied)."""

    type: str
    content: str
    location: Location
    junk_message: str = ""
    # Whitespace or a comment came right before this token.
    space_before: bool = False
    # The macro invocation this token was expanded from, if any.
    chain: Token | None = None

    def is_op(self, *ops: str) -> bool:
        return self.type == OP and self.content in ops

    def is_kw(self, *words: str) -> bool:
        return self.type == KEYWORD and self.content in words

    def describe(self, with_file: bool = True) -> str:
        """``operator '}' at <input>:1:24``, as stap's ``operator<<`` prints a token."""
        text = self.type
        if self.type not in (EMBEDDED, KEYWORD):
            shown = "".join(c if c.isprintable() and ord(c) < 0x7F else "?" for c in self.content)
            text += f" '{shown}'"
        loc = self.location
        where = f"{loc.source.name if with_file else ''}:{loc.line}:{loc.column}"
        return f"{text} at {where}"

    def __str__(self) -> str:
        return self.describe()


def source_excerpt(token: Token, align: str) -> str:
    """The ``source:`` line and the caret line stap prints under a diagnostic."""
    loc = token.location
    line = loc.source.line(loc.line)
    # as stap: one space (or the same whitespace) per byte before the token's column
    before = line.encode("utf-8", "surrogateescape")[: max(loc.column - 1, 0)]
    pad = "".join(chr(b) if chr(b) in " \t\n\v\f\r" else " " for b in before)
    return f"{align}source: {line}\n{align}        {pad}^\n"


class DiagnosticPrinter:
    """Formats parse and semantic errors as stap does, abbreviating the file name of a
    token when the previous token printed came from the same file."""

    def __init__(self) -> None:
        self._last_source: Source | None = None
        self._seen: set[str] = set()

    def token(self, tok: Token) -> str:
        same = self._last_source is tok.location.source
        self._last_source = tok.location.source
        return tok.describe(with_file=not same)

    def parse_error(self, message: str, tok: Token | None) -> str:
        if tok is None:
            return f"parse error: {message}\n\n"
        if tok.type == JUNK and tok.junk_message:
            message, label = tok.junk_message, "         at: "
        else:
            label = "        saw: "
        text = f"parse error: {message}\n{label}{self.token(tok)}\n"
        text += source_excerpt(tok, "     ")
        return text + "\n"

    def semantic_error(self, message: str, *toks: Token) -> str:
        """One ``semantic error:`` block; returns "" for an exact repeat, as stap drops them."""
        key = message + "".join(str(t) for t in toks)
        if key in self._seen:
            return ""
        self._seen.add(key)
        text = f"semantic error: {message}"
        if toks:
            text += ": "
            parts = []
            for tok in toks:
                parts.append(self.token(tok) + "\n" + source_excerpt(tok, "        "))
            text += "".join(parts)
        else:
            text += "\n"
        return text + "\n"

    def warning(self, message: str, tok: Token | None) -> str:
        key = message + (str(tok) if tok else "")
        if key in self._seen:
            return ""
        self._seen.add(key)
        if tok is None:
            return f"WARNING: {message}\n"
        return f"WARNING: {message}: {self.token(tok)}\n" + source_excerpt(tok, " ")

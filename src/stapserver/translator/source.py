"""Script sources, tokens and the stap-style rendering of diagnostics.

SystemTap reports a problem by naming a token (``operator '}' at <input>:1:24``) and
quoting the source line with a caret under the token's column.  Everything here is pure
formatting over :class:`Source` and :class:`Token`; the lexer makes the tokens.
"""

from __future__ import annotations

from collections.abc import Callable
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
    """Formats parse and semantic errors as stap does.

    As stap, it abbreviates a token's file name when the previous token printed came
    from the same file, drops exact repeats, and, unless verbose, prints only the first
    error of each kind (stap keys on where in the translator an error is raised; here
    the caller names the kind), counting the others for the closing note."""

    def __init__(
        self,
        verbose: int = 0,
        emit: Callable[[str], None] | None = None,
        suppress_warnings: bool = False,
    ) -> None:
        self.verbose = verbose
        # where warnings go, as they arise (stap prints them at once); None: dropped
        self.emit = emit
        self.suppress_warnings = suppress_warnings
        self._last_source: Source | None = None
        self._seen: set[str] = set()
        self._kinds: set[str] = set()
        self.suppressed_errors = 0

    def token(self, tok: Token) -> str:
        same = self._last_source is tok.location.source
        self._last_source = tok.location.source
        return tok.describe(with_file=not same)

    def _suppress(self, kind: str) -> bool:
        if not self.verbose and kind in self._kinds:
            self.suppressed_errors += 1
            return True
        self._kinds.add(kind)
        return False

    def parse_error(self, message: str, tok: Token | None, kind: str | None = None) -> str:
        if self._suppress(kind or message):
            return ""
        if tok is None:
            return f"parse error: {message}\n\n"
        if tok.type == JUNK and tok.junk_message:
            message, label = tok.junk_message, "         at: "
        else:
            label = "        saw: "
        text = f"parse error: {message}\n{label}{self.token(tok)}\n"
        text += source_excerpt(tok, "     ")
        return text + "\n"

    def _semantic_block(self, message: str, toks: tuple[Token, ...]) -> str:
        text = f"semantic error: {message}"
        if toks:
            text += ": "
            text += "".join(
                self.token(tok) + "\n" + source_excerpt(tok, "        ") for tok in toks
            )
        else:
            text += "\n"
        return text + "\n"

    def semantic_error(
        self,
        message: str,
        *toks: Token,
        kind: str | None = None,
        chain: tuple[tuple[str, tuple[Token, ...]], ...] = (),
    ) -> str:
        """A ``semantic error:`` block (and the blocks chained to it), or "" for a
        suppressed one (without ``-v``, a repeat or one of a kind already shown)."""
        key = message + "".join(str(t) for t in toks)
        repeat = key in self._seen
        self._seen.add(key)
        if repeat and not self.verbose:
            self.suppressed_errors += 1
            return ""
        if not repeat and self._suppress(kind or message):
            return ""
        text = self._semantic_block(message, toks)
        for msg, ctoks in chain:
            text += self._semantic_block(msg, ctoks)
        return text

    def warning(self, message: str, tok: Token | None) -> str:
        key = message + (str(tok) if tok else "")
        if key in self._seen:
            return ""
        self._seen.add(key)
        if tok is None:
            return f"WARNING: {message}\n"
        return f"WARNING: {message}: {self.token(tok)}\n" + source_excerpt(tok, " ")

    def warn(self, message: str, tok: Token | None = None) -> None:
        """Print a warning now (unless ``-w``)."""
        if self.suppress_warnings or self.emit is None:
            return
        text = self.warning(message, tok)
        if text:
            self.emit(text)

    def closing_note(self) -> str:
        """What stap says after a failed pass when it held errors back."""
        if not self.suppressed_errors:
            return ""
        return (
            f"Number of similar error messages suppressed: {self.suppressed_errors}.\n"
            "Rerun with -v to see them.\n"
        )

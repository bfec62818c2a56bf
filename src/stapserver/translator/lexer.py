"""The SystemTap lexer: script text to tokens, as stap's ``lexer::scan`` does.

Command-line arguments are pasted in here: ``$1`` as raw text, ``@1`` as a quoted string,
``$#``/``@#`` as the argument count.
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Sequence

from .source import EMBEDDED, IDENT, JUNK, KEYWORD, NUMBER, OP, STRING, Location, Source, Token

KEYWORDS = frozenset(
    [
        "probe",
        "global",
        "private",
        "function",
        "if",
        "else",
        "for",
        "foreach",
        "in",
        "limit",
        "return",
        "delete",
        "while",
        "break",
        "continue",
        "next",
        "string",
        "long",
        "try",
        "catch",
    ]
)

_THREE_OPS = ("<<<", ">>>", "<<=", ">>=")
_TWO_OPS = frozenset(
    [
        "==",
        "!=",
        "<=",
        ">=",
        "=~",
        "!~",
        "+=",
        "-=",
        "*=",
        "/=",
        "%=",
        "&=",
        "^=",
        "|=",
        ".=",
        "&&",
        "||",
        "++",
        "--",
        "->",
        "<<",
        ">>",
        "%(",
        "%?",
        "%:",
        "%)",
    ]
)
_IDENT = re.compile(r"[A-Za-z_$@][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"[0-9][A-Za-z0-9]*")
_SPACE = " \t\n\v\f\r"
_STRING_CHUNK = re.compile(r'[^"\\\n]+')
# Escapes stap passes through to the C string literal (and so keeps their backslash);
# any other escaped character stands for itself.
_KEPT_ESCAPES = frozenset("abtnvfr01234567\\x")


def _is_digit(c: str) -> bool:
    """0-9 only: ``str.isdigit`` also takes superscripts and other scripts' digits."""
    return len(c) == 1 and "0" <= c <= "9"


def quote_string(value: str) -> str:
    """How stap pastes ``@1``: the argument as a string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Lexer:
    def __init__(
        self,
        source: Source,
        args: Sequence[str] = (),
        *,
        paste_location: Location | None = None,
    ) -> None:
        self.source = source
        self.text = source.text
        self.pos = 0
        self.args = list(args)
        self.used_args: set[int] = set()
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        # Tokens made from pasted arguments carry the location of the ``$N``.
        self._paste_location = paste_location
        self._pending: deque[Token] = deque()
        self.saw_tokens = False
        self._column_cache = (0, 0, 0)  # line, position and its width in bytes

    # -- positions -------------------------------------------------------------------
    def _location(self, pos: int) -> Location:
        if self._paste_location is not None:
            return self._paste_location
        line = bisect.bisect_right(self._line_starts, pos)
        start = self._line_starts[line - 1]
        # Tokens come in order: on the line of the last one, measure from it (a line of
        # thousands of tokens is measured once, not once per token).
        cached_line, cached_pos, cached_width = self._column_cache
        if cached_line == line and cached_pos <= pos:
            start, base = cached_pos, cached_width
        else:
            base = 0
        prefix = self.text[start:pos]
        # stap counts columns in bytes
        width = len(prefix) if prefix.isascii() else len(prefix.encode("utf-8", "surrogateescape"))
        self._column_cache = (line, pos, base + width)
        return Location(self.source, line, base + width + 1)

    def _token(self, kind: str, content: str, start: int) -> Token:
        return Token(kind, content, self._location(start))

    # -- scanning --------------------------------------------------------------------
    def scan(self) -> Token | None:
        """The next token (``space_before`` tells whether whitespace or a comment came
        before it), or None at the end of the text."""
        item = self._scan()
        if item is None:
            return None
        tok, ate_space = item
        tok.space_before = ate_space
        return tok

    def _scan(self) -> tuple[Token, bool] | None:
        if self._pending:
            return self._pending.popleft(), False
        text = self.text
        n = len(text)
        ate_space = False
        while True:
            pos = self.pos
            while pos < n and text[pos] in _SPACE:
                pos += 1
                ate_space = True
            self.pos = pos
            if pos >= n:
                return None
            c = text[pos]
            c2 = text[pos + 1] if pos + 1 < n else ""
            if c == "#" or (c == "/" and c2 == "/"):
                end = text.find("\n", pos)
                self.pos = n if end < 0 else end + 1
                ate_space = True
                continue
            if c == "/" and c2 == "*":
                end = text.find("*/", pos + 2)
                self.pos = n if end < 0 else end + 2
                ate_space = True
                continue
            break
        self.saw_tokens = True

        if c in "$@" and (c2 == "#" or _is_digit(c2)):
            pasted = self._paste_argument(pos, c)
            if pasted is not None:
                return pasted, ate_space
            # Everything came out as nothing (an empty argument): keep scanning.
            nxt = self._scan()
            return None if nxt is None else (nxt[0], True)

        if (c.isalpha() and c.isascii()) or c in "$@_":
            m = _IDENT.match(text, pos)
            assert m is not None
            word = m.group()
            self.pos = m.end()
            if word[0] == "@":
                kind = OP
            elif word in KEYWORDS:
                kind = KEYWORD
            else:
                kind = IDENT
            return self._token(kind, word, pos), ate_space

        if _is_digit(c):
            m = _NUMBER.match(text, pos)
            assert m is not None
            self.pos = m.end()
            return self._token(NUMBER, m.group(), pos), ate_space

        if c == '"':
            return self._scan_string(pos), ate_space

        if c == "%" and c2 == "{":
            end = text.find("%}", pos + 2)
            if end < 0:
                self.pos = n
                tok = self._token(JUNK, "%{" + text[pos + 2 :], pos)
                tok.junk_message = "Could not find matching '%}' to close embedded function block"
                return tok, ate_space
            self.pos = end + 2
            return self._token(EMBEDDED, text[pos + 2 : end], pos), ate_space

        if c.isascii() and not c.isalnum() and c.isprintable() and c != " ":
            three = text[pos : pos + 3]
            if three in _THREE_OPS:
                op = three
            elif text[pos : pos + 2] in _TWO_OPS:
                op = text[pos : pos + 2]
            else:
                op = c
            self.pos = pos + len(op)
            return self._token(OP, op, pos), ate_space

        self.pos = pos + 1
        tok = self._token(JUNK, "\\x%02x" % (ord(c) & 0xFF), pos)
        tok.junk_message = "unknown junk token"
        return tok, ate_space

    def _scan_string(self, start: int) -> Token:
        text = self.text
        n = len(text)
        pos = start + 1
        out: list[str] = []
        while True:
            m = _STRING_CHUNK.match(text, pos)
            if m:
                out.append(m.group())
                pos = m.end()
            if pos >= n or text[pos] == "\n":
                self.pos = pos
                tok = self._token(JUNK, '"' + "".join(out), start)
                tok.junk_message = "Could not find matching closing quote"
                # stap shows the unclosed string's junk token with empty content
                tok.content = ""
                return tok
            ch = text[pos]
            if ch == '"':
                self.pos = pos + 1
                return self._token(STRING, "".join(out), start)
            # a backslash
            if pos + 1 >= n:
                pos += 1
                continue
            esc = text[pos + 1]
            if esc in _KEPT_ESCAPES:
                out.append("\\" + esc)
            else:
                out.append(esc)
            pos += 2

    def _paste_argument(self, pos: int, sigil: str) -> Token | None:
        text = self.text
        start_loc = self._location(pos)
        if self._paste_location is not None:
            # ``$1`` inside a pasted argument
            self.pos = pos + 2
            tok = Token(JUNK, "", start_loc)  # stap shows these junk tokens empty
            tok.junk_message = "invalid nested substitution of command line arguments"
            return tok
        if text[pos + 1] == "#":
            self.pos = pos + 2
            count = str(len(self.args))
            pasted = count if sigil == "$" else quote_string(count)
        else:
            end = pos + 1
            idx = 0
            while end < len(text) and _is_digit(text[end]) and idx <= len(self.args):
                idx = idx * 10 + int(text[end])
                end += 1
            self.pos = end
            if idx == 0 or idx > len(self.args):
                tok = Token(JUNK, "", start_loc)
                tok.junk_message = f"command line argument out of range [1-{len(self.args)}]"
                return tok
            self.used_args.add(idx - 1)
            arg = self.args[idx - 1]
            pasted = arg if sigil == "$" else quote_string(arg)
        sub = Lexer(Source(self.source.name, pasted), paste_location=start_loc)
        while (item := sub._scan()) is not None:
            self._pending.append(item[0])
        if self._pending:
            return self._pending.popleft()
        return None


def decode_string(content: str, *, for_format: bool = False) -> bytes:
    """The bytes a string token stands for: C escape sequences evaluated, as the C
    compiler evaluates the literal stap emits.  ``for_format``: stap reads a printf
    format before the C compiler decodes it, so a ``%`` spelled as an escape is text."""
    if "\\" not in content:
        return content.encode("utf-8", "surrogateescape")
    raw = content.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    n = len(raw)
    simple = {
        ord("a"): 7,
        ord("b"): 8,
        ord("t"): 9,
        ord("n"): 10,
        ord("v"): 11,
        ord("f"): 12,
        ord("r"): 13,
        ord("\\"): 92,
    }
    while i < n:
        b = raw[i]
        if b != 0x5C or i + 1 >= n:
            out.append(b)
            i += 1
            continue
        e = raw[i + 1]
        i += 2
        if e in simple:
            out.append(simple[e])
        elif 0x30 <= e <= 0x37:
            value = e - 0x30
            for _ in range(2):
                if i < n and 0x30 <= raw[i] <= 0x37:
                    value = value * 8 + raw[i] - 0x30
                    i += 1
            out += b"%%" if for_format and value & 0xFF == 0x25 else bytes([value & 0xFF])
        elif e == ord("x"):
            digits = b""
            while i < n and len(digits) < 2 and chr(raw[i]) in "0123456789abcdefABCDEF":
                digits += bytes([raw[i]])
                i += 1
            if digits:
                byte = int(digits, 16)
                out += b"%%" if for_format and byte == 0x25 else bytes([byte])
            else:
                out += b"x"
        else:
            out.append(e)
    return bytes(out)

"""The search-box language: phrases added and taken away, weights, and example photos.

    dog on the beach +sunset -people          three terms: two added, one taken away
    "red car" -"parking lot"                   quoted phrases keep their words together
    sunset:0.5 beach                           a weight (a positive number) after a term
    img:~/Pictures/cat.jpg +snow               an example photo as a term (img:"a b.jpg" for spaces)
    text:"opening hours" -text:closed          words written in the photo (read by OCR), nothing else

Rules (docs/search.md says the same for users):

* Words with no operator between them form one phrase, so plain queries mean what they
  always meant. A `+` or `-` at the start of a word (or standing alone) starts a new term
  that is added or taken away; the term runs until the next operator or quoted phrase.
* A quoted phrase is a term on its own; `+` or `-` right before the quote applies to it.
* `:NUMBER` right after a term (after a word, a closing quote or an image path) sets its
  weight; the sign comes only from the operator.
* `img:PATH` (or `image:PATH`) is an example photo; it is always a term on its own.
* `text:WORD` or `text:"SOME WORDS"` matches the text read in photos only (kind "ocr"): an
  added one keeps the photos whose text holds it, a taken-away one drops them.

Parsing is pure text work (no model): errors carry the 0-based column where they were
found, so the search box and the CLI can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["QueryError", "Term", "ParsedQuery", "parse_query"]

_IMAGE_PREFIXES = ("img:", "image:")
_TEXT_PREFIXES = ("text:",)
_GLUED = _IMAGE_PREFIXES + _TEXT_PREFIXES  # a quoted value right after these stays in the token
_WEIGHT = re.compile(r"^(?P<body>.*?):(?P<weight>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$", re.S)
_LOOKS_LIKE_WEIGHT = re.compile(r"^(?P<body>.*?[^:]):(?P<weight>[-+.\d][\w.+-]*)$", re.S)
MAX_WEIGHT = 100.0


class QueryError(ValueError):
    """A query that cannot be parsed; `position` is the 0-based column of the problem."""

    def __init__(self, message: str, position: int, query: str = "") -> None:
        self.message = message
        self.position = position
        self.query = query
        super().__init__(f"{message} (at column {position + 1})")

    def pointer(self) -> str:
        """The query with a caret under the problem, for terminals."""
        return f"{self.query}\n{' ' * self.position}^"


@dataclass(frozen=True)
class Term:
    """One part of a query: a text phrase or an example photo, with a signed weight."""

    kind: str  # "text" (what the photo shows), "image" (an example photo) or "ocr" (words written in it)
    value: str
    weight: float = 1.0  # negative = taken away
    start: int = 0  # column where the term starts in the query

    def describe(self) -> str:
        sign = "-" if self.weight < 0 else "+"
        what = f"photo {self.value}" if self.kind == "image" else f"text “{self.value}”" if self.kind == "ocr" else f"“{self.value}”"
        return f"{sign}{what}" + ("" if abs(self.weight) == 1 else f" ×{abs(self.weight):g}")


@dataclass
class ParsedQuery:
    terms: list[Term] = field(default_factory=list)

    @property
    def is_plain(self) -> bool:
        """One positive term of weight 1: searched exactly as before the language existed."""
        return len(self.terms) == 1 and self.terms[0].weight == 1.0

    @property
    def texts(self) -> list[Term]:
        return [t for t in self.terms if t.kind == "text"]

    @property
    def images(self) -> list[Term]:
        return [t for t in self.terms if t.kind == "image"]

    @property
    def photo_text(self) -> list[Term]:
        """The `text:` terms: words written in the photo, matched against OCR, never coded."""
        return [t for t in self.terms if t.kind == "ocr"]

    def without_photo_text(self) -> "ParsedQuery":
        return ParsedQuery([t for t in self.terms if t.kind != "ocr"])


@dataclass
class _Token:
    text: str
    start: int
    quoted: bool = False
    sign: int = 0  # +1 / -1 when an operator was glued to the token
    weight: str | None = None  # raw weight text when glued after a closing quote
    weight_at: int = 0


def _tokens(query: str) -> list[_Token]:
    """Split on whitespace, keeping quoted phrases (and a glued +/- or :weight) together."""
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        start = i
        sign = 0
        if query[i] in "+-" and i + 1 < n and query[i + 1] == '"':
            sign = 1 if query[i] == "+" else -1
            i += 1
        if query[i] == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QueryError("this quote is never closed", i, query)
            phrase = query[i + 1 : close]
            if not phrase.strip():
                raise QueryError("empty quoted phrase", i, query)
            i = close + 1
            token = _Token(phrase.strip(), start, quoted=True, sign=sign)
            if i < n and query[i] == ":":
                end = i
                while end < n and not query[end].isspace():
                    end += 1
                token.weight, token.weight_at = query[i + 1 : end], i + 1
                i = end
            elif i < n and not query[i].isspace():
                raise QueryError("put a space after a closing quote", i, query)
            tokens.append(token)
            continue
        # An image term may quote its path: img:"My Photos/a.jpg"
        lowered = query[i:].lower()
        prefix = next((p for p in _GLUED if lowered.startswith(p) or lowered[1:].startswith(p) and query[i] in "+-"), None)
        if prefix is not None:
            body = i + (1 if query[i] in "+-" else 0) + len(prefix)
            if body < n and query[body] == '"':
                close = query.find('"', body + 1)
                if close < 0:
                    raise QueryError("this quote is never closed", body, query)
                end = close + 1
                while end < n and not query[end].isspace():
                    end += 1
                tokens.append(_Token(query[i:end], start))
                i = end
                continue
        while i < n and not query[i].isspace():
            i += 1
        tokens.append(_Token(query[start:i], start))
    return tokens


def _weight(raw: str, at: int, query: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise QueryError(f"'{raw}' is not a number (a weight looks like :0.5 or :2)", at, query) from None
    if not value > 0:
        raise QueryError("a weight must be a positive number; use - before a term to take it away", at, query)
    if value > MAX_WEIGHT:
        raise QueryError(f"a weight above {MAX_WEIGHT:g} drowns every other term", at, query)
    return value


def _split_weight(text: str, start: int, query: str) -> tuple[str, float | None]:
    """`word:0.5` -> ("word", 0.5); text without a trailing :number is returned as is."""
    found = _WEIGHT.match(text)
    if found and found.group("body"):
        at = start + found.start("weight")
        return found.group("body"), _weight(found.group("weight"), at, query)
    loose = _LOOKS_LIKE_WEIGHT.match(text)
    if loose and loose.group("body") and loose.group("weight")[0] in "+-.0123456789" and any(c.isdigit() for c in loose.group("weight")):
        _weight(loose.group("weight"), start + loose.start("weight"), query)  # raises: a malformed number
    return text, None


def parse_query(query: str) -> ParsedQuery:
    """Parse a search-box query into signed, weighted terms (see the module docstring)."""
    terms: list[Term] = []
    words: list[str] = []
    word_start = 0
    sign = 1
    weight: float | None = None
    pending_operator: tuple[int, int] | None = None  # (sign, column) of a lone + or -

    def close_text() -> None:
        nonlocal words, sign, weight
        if words:
            terms.append(Term("text", " ".join(words), sign * (weight or 1.0), word_start))
        words, sign, weight = [], 1, None

    for token in _tokens(query):
        text = token.text
        if token.quoted:
            close_text()
            op = token.sign or (pending_operator[0] if pending_operator else 1)
            quoted_weight = _weight(token.weight, token.weight_at, query) if token.weight is not None else 1.0
            terms.append(Term("text", " ".join(text.split()), op * quoted_weight, pending_operator[1] if pending_operator else token.start))
            pending_operator = None
            continue
        if text in ("+", "-"):
            if pending_operator:
                raise QueryError(f"'{text}' follows another operator", token.start, query)
            close_text()
            pending_operator = (1 if text == "+" else -1, token.start)
            continue
        op = 0
        body_start = token.start
        if text[0] in "+-" and len(text) > 1:
            if pending_operator:
                raise QueryError(f"'{text[0]}' follows another operator", token.start, query)
            op, text, body_start = (1 if text[0] == "+" else -1), text[1:], token.start + 1
        elif pending_operator:
            op = pending_operator[0]
        lowered = text.lower()
        if any(lowered.startswith(p) for p in _TEXT_PREFIXES):
            close_text()
            body, w = _split_weight(text[len("text:") :], body_start + len("text:"), query)
            if body.startswith('"') and body.endswith('"') and len(body) >= 2:
                body = body[1:-1]
            if not " ".join(body.split()):
                raise QueryError("'text:' needs words after it, e.g. text:\"opening hours\"", body_start, query)
            begin = pending_operator[1] if pending_operator else token.start
            terms.append(Term("ocr", " ".join(body.split()), (op or 1) * (w or 1.0), begin))
            pending_operator = None
            continue
        prefix = next((p for p in _IMAGE_PREFIXES if lowered.startswith(p)), None)
        if prefix is not None:
            close_text()
            path, w = _split_weight(text[len(prefix) :], body_start + len(prefix), query)
            if path.startswith('"') and path.endswith('"') and len(path) >= 2:
                path = path[1:-1]
            if not path.strip():
                raise QueryError(f"'{prefix}' needs a photo path after it, e.g. {prefix}~/Pictures/cat.jpg", body_start, query)
            begin = pending_operator[1] if pending_operator else token.start
            terms.append(Term("image", path, (op or 1) * (w or 1.0), begin))
            pending_operator = None
            continue
        if op:
            close_text()
            sign, word_start = op, (pending_operator[1] if pending_operator else token.start)
            pending_operator = None
        elif not words:
            word_start = token.start
        if weight is not None:
            # A weight ends its term: words after `sunset:0.5` start a new (added) phrase.
            close_text()
            word_start = token.start
        text, w = _split_weight(text, body_start, query)
        if not text:
            raise QueryError("a weight needs a term before it", token.start, query)
        words.append(text)
        if w is not None:
            weight = w
    if pending_operator:
        raise QueryError(f"'{'+' if pending_operator[0] > 0 else '-'}' needs a term after it", pending_operator[1], query)
    close_text()
    if not terms:
        raise QueryError("the query is empty", 0, query)
    if not any(t.weight > 0 for t in terms):
        raise QueryError("say what to look for, not only what to leave out (e.g. beach -people)", terms[0].start, query)
    return ParsedQuery(terms)

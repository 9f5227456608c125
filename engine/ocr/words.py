"""Text read in a photo as searchable words and weak tags.

OCR drops and adds spaces ("OPENING HOURS" reads as "OPENINGHOURS"), so matching ignores
them: a photo's text and a query are both folded to lowercase letters and digits only, and
a query word matches when it is a part of that run ("hours" is in "openinghours").
"""

from __future__ import annotations

import re
from typing import Iterable

# Words of a search-bar query too common to say anything about a photo's text.
STOP_WORDS = frozenset("a an and are as at be by for from has have in into is it its of on or photo picture the their there this to was were with".split())
# Shorter words match inside too many longer ones to rank by ("on" is in "station").
MIN_QUERY_WORD = 3
MIN_TAG_WORD = 3
MAX_TAGS = 20
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_TAG_WORD = re.compile(r"[^\W\d_]{%d,}" % MIN_TAG_WORD, re.UNICODE)


def compact(text: str) -> str:
    """Lowercase letters and digits only: what text matching compares."""
    return _NOT_WORD.sub("", text.casefold())


def query_words(text: str) -> list[str]:
    """A search-bar phrase's words worth looking for in photo text (compacted)."""
    out = []
    for word in text.split():
        folded = compact(word)
        if len(folded) >= MIN_QUERY_WORD and word.casefold() not in STOP_WORDS and folded not in out:
            out.append(folded)
    return out


def contains_all(words: Iterable[str], photo_text: str) -> bool:
    """Whether every (compacted) word is part of the photo's compacted text."""
    words = list(words)
    return bool(words) and all(word in photo_text for word in words)


def tag_words(text: str) -> list[str]:
    """The words of a photo's text that become weak "ocr" tags: letters only, 3+ long, no stop words."""
    out: list[str] = []
    for word in _TAG_WORD.findall(text.casefold()):
        if word not in STOP_WORDS and word not in out:
            out.append(word)
        if len(out) >= MAX_TAGS:
            break
    return out

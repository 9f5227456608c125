"""Text query sets that measure open vocabulary on a scenes benchmark.

Each set is a list of `TextQuery` (the words a user types and the concepts that make a
photo relevant). Only the benchmark's published vocabulary (CLDR names and keywords of
the emoji, the written queries) and the library's own tags are used to build them; the
photos' labels only score.

- *written*: the benchmark's 60 written queries ("a dog", "rainy weather");
- *held-out*: the written queries whose concepts all lost their album names
  (`regimes.HELD_OUT_CONCEPTS`), so no tag in the library speaks of them;
- *out-of-vocabulary*: CLDR names and keywords of the tagged concepts' emoji that are no
  tag of the library (e.g. "kangaroo" when the folder says "mammals"), in singular and
  plural form, and multi-word names as short phrases ("a racing car");
- *near-miss*: the other grammatical number of a tag ("car" for the folder tag "cars"),
  paired with the tag itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from ..library.nametags import tags_from_folder_name
from ..search.openvocab import number_forms
from .regimes import HELD_OUT_CONCEPTS

OOV_LIMIT = 300  # queries drawn from the out-of-vocabulary candidates (seeded)


@dataclass(frozen=True)
class TextQuery:
    text: str
    concepts: frozenset[str]


def other_number(word: str) -> Optional[str]:
    """The plural of a singular noun or the singular of a plural one ("car" ⇄ "cars"); None if unchanged."""
    forms = number_forms(word)
    return forms[1] if len(forms) > 1 else None


def written_queries(gt: dict) -> list[TextQuery]:
    return [TextQuery(q["text"], frozenset(q["concepts"])) for q in gt["text_queries"]]


def held_out_queries(gt: dict) -> list[TextQuery]:
    return [q for q in written_queries(gt) if q.concepts <= set(HELD_OUT_CONCEPTS)]


def _concepts_by_word(gt: dict) -> dict[str, set[str]]:
    """Every CLDR name and keyword (case-folded) → the concepts of the emoji it describes."""
    found: dict[str, set[str]] = {}
    for emoji in gt["emoji"]:
        for word in [emoji["name"], *emoji["keywords"]]:
            found.setdefault(word.casefold(), set()).add(emoji["concept"])
    return found


def out_of_vocabulary_queries(gt: dict, library_tags: Iterable[str], tagged_concepts: Iterable[str], limit: int = OOV_LIMIT, seed: int = 0) -> list[TextQuery]:
    """CLDR words of the tagged concepts that no library tag spells, in either number, plus short phrases."""
    tags = {t.casefold() for t in library_tags}
    tagged = set(tagged_concepts)
    by_word = _concepts_by_word(gt)
    candidates: dict[str, frozenset[str]] = {}
    for word, concepts in sorted(by_word.items()):
        if not concepts & tagged or word in tags:
            continue
        words = word.split()
        if len(words) == 1:
            other = other_number(word)
            if other in tags:
                continue  # a near-miss form of a tag, scored on its own
            candidates[word] = frozenset(concepts)
            if other and other not in by_word:
                candidates[other] = frozenset(concepts)
        elif len(words) <= 3:
            candidates[f"a {word}"] = frozenset(concepts)
    names = sorted(candidates)
    if len(names) > limit:
        picked = np.random.default_rng(seed).choice(len(names), size=limit, replace=False)
        names = [names[i] for i in sorted(picked)]
    return [TextQuery(name, candidates[name]) for name in names]


def album_tag_concepts(gt: dict, folders: Iterable[str]) -> dict[str, set[str]]:
    """Folder-name tag → the concepts of the albums it names (albums of no concept are skipped)."""
    concept_of = {album["name"]: album["concept"] for album in gt["albums"]}
    found: dict[str, set[str]] = {}
    for folder in folders:
        concept = concept_of.get(folder)
        if concept:
            for tag in tags_from_folder_name(folder):
                found.setdefault(tag, set()).add(concept)
    return found


def near_miss_pairs(gt: dict, folders: Iterable[str], library_tags: Iterable[str]) -> list[tuple[TextQuery, TextQuery]]:
    """(tag, its other grammatical number) for every album tag whose other form is no tag ("cars", "car")."""
    tags = {t.casefold() for t in library_tags}
    pairs = []
    for tag, concepts in sorted(album_tag_concepts(gt, folders).items()):
        other = other_number(tag)
        if other and other.casefold() not in tags and tag in tags:
            pairs.append((TextQuery(tag, frozenset(concepts)), TextQuery(other, frozenset(concepts))))
    return pairs


def relevance_of(queries: list[TextQuery], concept_index: dict[str, int], labels: np.ndarray) -> np.ndarray:
    """Q × N: a photo is relevant to a query when it shows one of the query's concepts."""
    wanted = np.zeros((len(queries), labels.shape[1]), dtype=bool)
    for row, query in enumerate(queries):
        wanted[row, [concept_index[c] for c in query.concepts]] = True
    return (wanted.astype(np.float32) @ labels.astype(np.float32).T) > 0

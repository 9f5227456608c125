"""Open-vocabulary figures of the benchmark: query sets scored zero-shot and trained.

For each query set (`querysets.py`) three rankings of the database are scored (mAP@all,
share-a-concept relevance):

- *zero-shot*: ITQ codes of the backbone (what the library searches before training);
- *text branch*: the trained text branch alone against the trained database codes (the
  query coding before open vocabulary);
- *search*: the query coded as search codes it (`engine/search/openvocab.py`: tag forms,
  else the majority of the trained codes of its zero-shot neighbours).

And "close matches only" at the trained model's calibrated radius (`cutoff.calibrated_radius`,
from its held-out tagged photos): precision and recall of the photos within it (pairs
pooled over the set's queries) and the share of the database it keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..library.codemodels import ZERO_SHOT_BITS
from ..codes.coders import ItqCodes
from ..models.projection import ItqProjection, fit_itq
from ..codes.bits import pack_bits
from ..search.openvocab import ZeroShotNeighbours, mixed_values, vocabulary_form
from . import querysets
from .metrics import hamming_matrix, mean_average_precision


def search_text_codes(
    codes, embed: Callable[[list[str]], np.ndarray], texts: list[str], database_bits: np.ndarray, neighbours: ZeroShotNeighbours
) -> np.ndarray:
    """{0,1} codes of query texts as `Searcher.text_values` codes them, against unpacked database codes."""
    vocabulary = frozenset(codes.vocabulary)
    tags = [vocabulary_form(text, vocabulary) for text in texts]
    embeddings = embed([tag or text for tag, text in zip(tags, texts)])
    values = np.asarray(codes.project_texts(embeddings), dtype=np.float64)
    tag_embeddings = None if codes.vocabulary_embeddings is None else codes.vocabulary_embeddings.float().cpu().numpy()
    for row, tag in enumerate(tags):
        if tag is None:
            values[row] = mixed_values(values[row], embeddings[row], database_bits[neighbours.rows_for(embeddings[row])], tag_embeddings)
    return (values > 0).astype(np.uint8)


def zero_shot_neighbours(embeddings: np.ndarray) -> tuple[ItqProjection, ZeroShotNeighbours]:
    """A zero-shot companion fitted on the database embeddings, as `indexing.ensure_companion` fits one."""
    projection = fit_itq(embeddings, bits=min(ZERO_SHOT_BITS, embeddings.shape[1]))
    ids = np.arange(len(embeddings), dtype=np.int64)
    return projection, ZeroShotNeighbours(ItqCodes(projection), ids, pack_bits(projection.encode(embeddings)), ids)


def query_sets(gt: dict, library_tags: list[list[str]], folders: list[str], regime: str) -> dict[str, list[querysets.TextQuery]]:
    """The regime's query sets (held-out concepts only where they lost their albums)."""
    vocabulary = sorted({t.casefold() for names in library_tags for t in names})
    tagged = {a["concept"] for a in gt["albums"] if a["concept"] and a["name"] in folders}
    sets = {"written queries": querysets.written_queries(gt)}
    if regime == "held-out":
        sets["held-out concepts' written queries"] = querysets.held_out_queries(gt)
    sets["out-of-vocabulary words"] = querysets.out_of_vocabulary_queries(gt, vocabulary, tagged)
    pairs = querysets.near_miss_pairs(gt, folders, vocabulary)
    if pairs:
        sets["album tags"] = [tag for tag, _ in pairs]
        sets["near-miss forms of album tags"] = [form for _, form in pairs]
    return sets


def _within(distances: np.ndarray, relevant: np.ndarray, radius: int) -> tuple[float, float]:
    """Pooled precision and recall of "within `radius`" over a set's queries."""
    kept = distances <= radius
    found = int((kept & relevant).sum())
    return (found / int(kept.sum()) if kept.any() else float("nan")), found / max(int(relevant.sum()), 1)


def open_vocabulary_rows(
    gt: dict,
    sets: dict[str, list[querysets.TextQuery]],
    labels: np.ndarray,
    bits: int,
    embed: Callable[[list[str]], np.ndarray],
    db_embeddings: np.ndarray,
    codes,
    db_codes: np.ndarray,
    radius: Optional[int] = None,
) -> list[dict]:
    """One row per query set: mAP zero-shot, with the text branch alone, and as search codes the
    queries; with `radius`, what "close matches only" keeps."""
    concept_index = {c["id"]: c["index"] for c in gt["concepts"]}
    itq = fit_itq(db_embeddings, bits=bits)
    zero_shot_db = itq.encode(db_embeddings)
    _, neighbours = zero_shot_neighbours(db_embeddings)
    rows = []
    for name, queries in sets.items():
        if not queries:
            continue
        relevant = querysets.relevance_of(queries, concept_index, labels)
        texts = [q.text for q in queries]
        embeddings = embed(texts)
        searched = hamming_matrix(search_text_codes(codes, embed, texts, db_codes, neighbours), db_codes)
        row = {
            "query_set": name,
            "bits": bits,
            "queries": len(queries),
            "zero_shot": mean_average_precision(hamming_matrix(itq.encode(embeddings), zero_shot_db), relevant),
            "text_branch": mean_average_precision(hamming_matrix(codes.encode_texts(embeddings), db_codes), relevant),
            "search": mean_average_precision(searched, relevant),
        }
        if radius is not None:
            row["close_precision"], row["close_recall"] = _within(searched, relevant, radius)
            row["radius"], row["kept"] = radius, float((searched <= radius).mean())
        rows.append({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
    return rows


def format_open_vocabulary(rows: list[dict]) -> str:
    """mAP per query set, then what "close matches only" keeps at the model's calibrated radius."""

    def cell(row: dict, key: str, width: int) -> str:
        return f"{row[key]:>{width}.4f}" if isinstance(row.get(key), float) else f"{row.get(key, ''):>{width}}"

    header = (
        f"{'query set':<52}{'bits':>5}{'queries':>8}{'zero-shot':>11}{'text branch':>13}{'search':>9}{'radius':>8}{'precision':>11}{'recall':>8}{'kept':>7}"
    )
    lines = [header]
    for r in rows:
        lines.append(
            f"{r['query_set']:<52}{r['bits']:>5}{r['queries']:>8}"
            + cell(r, "zero_shot", 11)
            + cell(r, "text_branch", 13)
            + cell(r, "search", 9)
            + cell(r, "radius", 8)
            + cell(r, "close_precision", 11)
            + cell(r, "close_recall", 8)
            + cell(r, "kept", 7)
        )
    return "\n".join(lines)


def regime_folders(mirror_root: Path) -> list[str]:
    """Album folder names of a regime's mirror."""
    return sorted(p.name for p in mirror_root.iterdir() if p.is_dir())

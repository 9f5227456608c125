"""Words inside photos: read at index time, found by search, shown by `show`, counted as a tag source."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rapidocr_onnxruntime")

from cli.test_cli import bitlens  # noqa: E402

SIZE = (480, 360)


def _make(folder: Path) -> dict[str, tuple[str, ...]]:
    """Four photos with words (a sign, a label, a receipt, rotated text) and two without; name -> words."""
    from engine.ocr.synthetic import make_scene_photos, render_text_photo

    rng = np.random.default_rng(7)
    made = {}
    for name, words, kind in (
        ("shopfront.jpg", ("bakery", "closed"), "sign"),
        ("jar.jpg", ("marmalade",), "label"),
        ("till.jpg", ("espresso", "pretzel"), "receipt"),
        ("street.jpg", ("harbour", "ferry"), "rotated"),
    ):
        (folder / "text").mkdir(parents=True, exist_ok=True)
        render_text_photo(rng, words, kind, SIZE).save(folder / "text" / name, quality=92)
        made[name] = words
    for path in make_scene_photos(folder / "views", 2, size=SIZE):
        made[path.name] = ()
    return made


@pytest.fixture(scope="module")
def ocr_library(tmp_path_factory):
    """A library of the photos above, indexed once by the CLI with the tiny offline model."""
    root = tmp_path_factory.mktemp("ocr")
    photos = root / "photos"
    words = _make(photos)
    library = root / "library"
    report = json.loads(bitlens(library, "index", str(photos), "--backbone", "tiny", "--json").stdout)
    return photos, library, words, report


def test_index_reads_the_words_and_the_cli_finds_photos_by_them(ocr_library, tmp_path):
    photos, library, words, report = ocr_library
    assert any("read text in 4 of 6" in note for note in report["notes"]), report["notes"]
    # a word typed in the search bar ranks the photo with it written on it first; text: matches
    # photo text only, a phrase keeps its words together (with or without the spaces OCR read),
    # and a taken-away text term drops the photo whatever its code
    queries = ["bakery", "marmalade", "espresso", "harbour", 'text:"bakery closed"', "text:zeppelin", "espresso -text:espresso"]
    batch = tmp_path / "queries.txt"
    batch.write_text("\n".join(queries) + "\n", encoding="utf-8")
    lines = bitlens(library, "search", "--batch", str(batch), "--limit", "0").stdout.splitlines()
    found = {row["query"]: [Path(r["path"]).name for r in row["results"]] for row in map(json.loads, lines)}
    for word, name in (("bakery", "shopfront.jpg"), ("marmalade", "jar.jpg"), ("espresso", "till.jpg"), ("harbour", "street.jpg")):
        assert found[word][0] == name, (word, found[word])
    assert found['text:"bakery closed"'] == ["shopfront.jpg"]
    assert found["text:zeppelin"] == []
    assert "till.jpg" not in found["espresso -text:espresso"] and len(found["espresso -text:espresso"]) == 5


def test_show_prints_the_text_and_the_words_are_ocr_tags(ocr_library):
    from engine.facade import BitLens

    photos, library, _, _ = ocr_library
    out = bitlens(library, "show", str(photos / "text" / "till.jpg")).stdout
    assert "text: ESPRESSO" in out
    assert "tag: pretzel  [ocr]" in out
    with BitLens(library) as lib:
        info = lib.photo(photos / "text" / "jar.jpg")
        line = next(item for item in info["text"] if "marmalade" in item["text"].lower())
        xs, ys = zip(*line["box"])
        assert 0 <= min(xs) < max(xs) <= 1 and 0 <= min(ys) < max(ys) <= 1  # corners as fractions of the photo
        assert lib.photo(next((photos / "views").iterdir()))["text"] == []


def test_no_ocr_skips_reading_and_a_later_run_catches_up(tmp_path, tiny_spec):
    from engine.facade import BitLens

    from engine.ocr.synthetic import render_text_photo

    photos = tmp_path / "photos"
    photos.mkdir()
    render_text_photo(np.random.default_rng(3), ("lagoon",), "sign", SIZE).save(photos / "sign.jpg")
    with BitLens(tmp_path / "library") as lib:
        lib.index([photos], backbone=tiny_spec, ocr=False)
        assert lib.searcher().search("text:lagoon") == []
        report = lib.index()
        assert report.added == 0 and any("read text in 1 of 1" in n for n in report.notes)
        assert [Path(r.path).name for r in lib.searcher().search("text:lagoon")] == ["sign.jpg"]
        lib.remove_folder(photos)  # what was read goes with the photos, as their embeddings do
        with lib.store.raw() as db:
            assert db.execute("SELECT count(*) FROM photo_text").fetchone()[0] == 0


def test_reading_resumes_after_a_cancel_and_copies_are_not_read_again(ocr_library, tmp_path, monkeypatch):
    from engine.jobs import CancelToken, Cancelled, Reporter
    from engine.library import photo_text
    from engine.facade import BitLens

    from engine.library.report import ScanReport
    from engine.ocr import reader

    photos, template, _, _ = ocr_library
    library = tmp_path / "library"
    shutil.copytree(template, library)
    db = sqlite3.connect(library / "library.sqlite")
    db.execute("DELETE FROM photo_text")
    db.execute("DELETE FROM image_tags WHERE source = 'ocr'")
    db.commit()
    db.close()
    reads = []
    original = reader.PhotoReader.read
    monkeypatch.setattr(reader.PhotoReader, "read", lambda self, image: reads.append(1) or original(self, image))
    monkeypatch.setattr(photo_text, "BATCH", 2)
    token = CancelToken()

    def progress(event):
        if event.stage == "ocr" and event.done >= 2:
            token.cancel()

    with BitLens(library) as lib:
        with pytest.raises(Cancelled):
            photo_text.read_photo_text(lib.store, ScanReport(), Reporter(progress, interval=0), token, workers=1)
        first = len(reads)
        with lib.store.raw() as conn:
            assert conn.execute("SELECT count(*) FROM photo_text").fetchone()[0] == 2  # the first batch was kept
        report = ScanReport()
        photo_text.read_photo_text(lib.store, report, Reporter(None), workers=1)
        assert any("of 4 photos looked at" in n for n in report.notes)  # only the rest
        # only photos that passed both gates were read in full: the two textless views never were
        assert first + len(reads[first:]) == len(reads) <= 4
        with lib.store.raw() as conn:
            assert conn.execute("SELECT count(*) FROM photo_text").fetchone()[0] == 6
        # a copy of a photo with text (same bytes) gets its tags without a new read
        shutil.copy(photos / "text" / "jar.jpg", photos / "text" / "jar copy.jpg")
        try:
            before = len(reads)
            lib.index(ocr=True)
            assert len(reads) == before
            assert {"tag": "marmalade", "source": "ocr"} in lib.photo(photos / "text" / "jar copy.jpg")["tags"]
        finally:
            (photos / "text" / "jar copy.jpg").unlink()


def test_ocr_words_are_a_tag_source_that_can_be_left_out(ocr_library):
    from engine.facade import BitLens

    from engine.training.tag_stats import tag_overview

    _, library, _, _ = ocr_library
    with BitLens(library) as lib:
        with_ocr = tag_overview(lib, sources=["ocr"])
        without = tag_overview(lib, sources=["folder", "filename"])
    assert with_ocr.tagged_photos == 4
    assert without.tagged_photos == 6
    assert "marmalade" in {tag for tag, _ in with_ocr.top_tags}
    assert "marmalade" not in {tag for tag, _ in without.top_tags}

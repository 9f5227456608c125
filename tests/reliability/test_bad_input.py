"""Bad input: one scan over a corpus of broken and unusual files never crashes, reports
each bad file with a reason, indexes every good one and loses nothing already stored."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


from conftest import REPO, make_photo

from . import corpus
from .helpers import cli_env, integrity, snapshot, unprivileged_prefix

DRIVER = Path(__file__).with_name("scan_driver.py")


def _restore_permissions(root: Path) -> None:
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)


def test_one_scan_survives_every_kind_of_bad_input(tmp_path, request):
    from engine.facade import BitLens

    from engine.library.report import printable_path
    from engine.models.backbones import BackboneSpec

    root = tmp_path / "Photos"
    good = corpus.good_photos(root)
    lib_dir = tmp_path / "lib"
    with BitLens(lib_dir) as library:
        library.index([root], backbone=BackboneSpec.from_args("tiny"))
    # Something the user made that must survive: their own tag on a photo.
    db = sqlite3.connect(lib_dir / "library.sqlite")
    with db:
        db.execute("INSERT INTO tags(name) VALUES ('Grandma')")
        db.execute("INSERT INTO image_tags SELECT id, (SELECT id FROM tags WHERE name = 'Grandma'), 'user' FROM images WHERE path = ?", (good[0].path,))
    db.close()
    stored = snapshot(lib_dir / "library.sqlite")

    cases = corpus.build(root)
    request.addfinalizer(lambda: _restore_permissions(root))
    assert len({c.kind for c in cases}) >= 15
    victim = next(c.path for c in cases if c.kind == "file deleted during the scan")
    run = subprocess.run(
        [*unprivileged_prefix(), sys.executable, str(DRIVER), str(lib_dir), str(root), victim],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    reasons = {p["path"]: p["reason"] for p in report["problems"]}

    assert integrity(lib_dir / "library.sqlite") == "ok"
    with BitLens(lib_dir) as library:
        with library.store.raw() as db:
            coded = {
                path
                for (path,) in db.execute("SELECT i.path FROM codes c JOIN images i ON i.id = c.image_id JOIN models m ON m.id = c.model_id WHERE m.active")
            }
            rows = db.execute("SELECT count(*), count(DISTINCT content_hash) FROM images WHERE status = 'ok'").fetchone()
        failures = []
        for case in cases + good:
            info = library.photo(case.path)
            if case.expect == "indexed":
                if info is None or info["status"] != "ok" or case.path not in coded:
                    failures.append(f"{case.kind}: not indexed ({info and info['error']}; report: {reasons.get(case.path)})")
            elif case.expect == "reported":
                reason = reasons.get(printable_path(case.path))
                if not reason:
                    failures.append(f"{case.kind}: not in the scan report")
                elif case.reason and case.reason.lower() not in reason.lower():
                    failures.append(f"{case.kind}: reason '{reason}' does not say '{case.reason}'")
            elif info is not None and info["status"] == "ok" and case.kind != "symlink loop (folder)":
                failures.append(f"{case.kind}: should not be a photo")
        assert not failures, "\n".join(failures)
        # The loop back to the top folder adds no second copy of any photo.
        assert rows[0] == rows[1] == sum(c.expect == "indexed" for c in cases + good)
        rotated = library.photo(next(c.path for c in cases if c.kind == "EXIF-rotated photo"))
        assert (rotated["width"], rotated["height"]) == (60, 120), "the size a viewer shows is after rotation"
        # The file whose name is not UTF-8 is a photo like any other, its name's tag read as legacy text.
        latin1 = library.photo(next(c.path for c in cases if c.kind == "undecodable file name bytes"))
        assert "café" in {t["tag"] for t in latin1["tags"]}

    after = snapshot(lib_dir / "library.sqlite")
    for kind in ("photos", "tags"):
        assert set(stored[kind]) <= set(after[kind]), f"stored {kind} were lost or changed by the bad scan"
    # Codes may be recomputed (the projection is refitted as the library grows), never dropped.
    assert {row[0] for row in stored["codes"]} <= {row[0] for row in after["codes"]}
    assert (good[0].path, "Grandma", "user") in after["tags"]


def test_an_undecodable_file_name_prints_on_a_strict_utf8_terminal(tmp_path, monkeypatch):
    """Output that is strict UTF-8 (a pipe, many terminals) must not crash on a Latin-1 file name (it is indexed)."""
    import io

    from engine.cli import main

    root = tmp_path / "Photos"
    make_photo(root / "ok.jpg", 1)
    make_photo(Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9.jpg")), 2)
    for args in (["--json"], []):  # the JSON report, then the text one on a rescan
        out = io.BytesIO()
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True))
        assert main(["--library", str(tmp_path / "lib"), "index", str(root), "--backbone", "tiny", *args]) == 0
        if args:
            assert json.loads(out.getvalue())["added"] == 2  # indexed, not a problem
    out = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True))
    assert main(["--library", str(tmp_path / "lib"), "search", "--image", str(root / "ok.jpg"), "--limit", "0"]) == 0
    assert b"caf\\xe9.jpg" in out.getvalue()  # named, with the odd byte escaped


def _codes(lib_dir: Path) -> dict:
    return {path: code for path, _, _, code in snapshot(lib_dir / "library.sqlite")["codes"]}


def test_folder_unmounted_or_emptied_between_scans_keeps_tags_and_codes(tmp_path, photo_tree, tiny_spec):
    """PhotoPrism #2299: an unmounted drive must not cost the user their tags and codes."""
    from engine.facade import BitLens

    with BitLens(tmp_path / "lib") as library:
        library.index([photo_tree], backbone=tiny_spec)
        target = photo_tree / "Camera Roll" / "IMG_0002.png"
        with library.store.raw() as db:
            db.execute("INSERT INTO tags(name) VALUES ('Grandma')")
            db.execute("INSERT INTO image_tags SELECT id, (SELECT id FROM tags WHERE name='Grandma'), 'user' FROM images WHERE path = ?", (str(target),))
        before = snapshot(library.paths.database)

        # 1. The drive is gone: the folder itself does not exist.
        away = tmp_path / "unplugged"
        photo_tree.rename(away)
        report = library.index(backbone=tiny_spec)
        assert report.missing == 0 and library.folders()[0].reachable is False
        assert snapshot(library.paths.database) == before

        # 2. The drive is gone but its empty mount point stays behind.
        photo_tree.mkdir()
        report = library.index(backbone=tiny_spec)
        during = snapshot(library.paths.database)
        assert library.status()["photos"] == 0 and library.status()["missing"] == 9
        assert during["tags"] == before["tags"], "tags must survive while the photos are missing"
        with library.store.raw() as db:
            kept = db.execute("SELECT count(*) FROM codes c JOIN models m ON m.id = c.model_id WHERE m.active").fetchone()[0]
        assert kept == 9, "codes must survive while the photos are missing"
        assert library.searcher().search(text="car", limit=0) == []

        # 3. The drive comes back: every row, tag and code as before, nothing re-encoded.
        photo_tree.rmdir()
        away.rename(photo_tree)
        report = library.index(backbone=tiny_spec)
        assert report.encoded == 0 and report.added == 0
        after = snapshot(library.paths.database)
        assert after["tags"] == before["tags"] and after["codes"] == before["codes"]
        assert [r[:-2] for r in after["photos"]] == [r[:-2] for r in before["photos"]]
        assert {r[-2] for r in after["photos"]} == {"ok"}
        assert len(library.searcher().search(text="car", limit=0)) == 9

"""File names as old archives and zips leave them: bytes that are not UTF-8."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

from conftest import make_photo
from engine.cli import main

NAME = b"caf\xe9 \xff.jpg"  # Latin-1 "café ÿ": not UTF-8


def run_cli(monkeypatch, library: Path, *args: str) -> bytes:
    """The CLI in this process, its output a strict UTF-8 stream (a pipe, most terminals)."""
    out = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True))
    assert main(["--library", str(library), *args]) == 0
    return out.getvalue()


def test_a_photo_whose_name_is_not_utf8_is_indexed_shown_and_output_faithfully(tmp_path, monkeypatch):
    root = tmp_path / "Photos"
    make_photo(root / "ok.jpg", 1)
    odd = os.fsdecode(os.fsencode(root) + b"/" + NAME)  # as os.listdir gives it: surrogate escapes
    make_photo(Path(odd), 2)
    library = tmp_path / "lib"
    report = json.loads(run_cli(monkeypatch, library, "index", str(root), "--backbone", "tiny", "--json"))
    assert report["added"] == 2 and report["problems"] == [] and report["errors"] == 0

    # JSON names it with \udcXX escapes: valid JSON that gives the file's own bytes back
    found = json.loads(run_cli(monkeypatch, library, "search", "--image", odd, "--json", "--limit", "0"))
    paths = [r["path"] for r in found]
    assert odd in paths and os.fsencode(paths[paths.index(odd)]) == os.fsencode(root) + b"/" + NAME
    assert Path(odd).is_file()  # the path that came out opens the photo
    shown = json.loads(run_cli(monkeypatch, library, "show", odd, "--json"))
    assert shown["path"] == odd and shown["status"] == "ok"
    assert {"tag": "café", "source": "filename"} in shown["tags"]  # the name's words, read as Latin-1 / Windows-1252
    # text output names it with the odd bytes escaped, as `ls -b` does
    assert b"caf\\xe9 \\xff.jpg" in run_cli(monkeypatch, library, "show", odd)
    assert b"caf\\xe9 \\xff.jpg" in run_cli(monkeypatch, library, "search", "--image", odd, "--limit", "0")
    status = json.loads(run_cli(monkeypatch, library, "status", "--json"))
    assert status["photos"] == 2 and status["needs_attention"] == 0


def test_status_counts_files_that_could_not_be_taken_in(tmp_path, monkeypatch):
    root = tmp_path / "Photos"
    make_photo(root / "ok.jpg", 1)
    (root / "gone.jpg").symlink_to(root / "moved away.jpg")  # a broken link: no row, only a report line
    (root / "broken.jpg").write_bytes(b"not a picture")  # a row with status error
    library = tmp_path / "lib"
    run_cli(monkeypatch, library, "index", str(root), "--backbone", "tiny")
    status = json.loads(run_cli(monkeypatch, library, "status", "--json"))
    assert status["errors"] == 1 and status["needs_attention"] == 2
    assert [p["path"] for p in status["skipped"]] == [str(root / "gone.jpg")]
    text = run_cli(monkeypatch, library, "status").decode()
    assert "needs attention: 2 file(s)" in text and "gone.jpg: broken symbolic link" in text

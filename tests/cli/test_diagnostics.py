"""The problem report: what it holds, and that paths and file names stay out unless allowed."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

from engine.diagnostics import report, scrub, write_report


def test_scrub_hides_paths_and_photo_names_but_keeps_the_message() -> None:
    cases = {
        "cannot read /home/ann/Pictures/2019 beach/IMG_0001.JPG: truncated": "cannot read <path>: truncated",
        r"C:\Users\ann\Photos\a.jpg failed": "<path> failed",
        "weights file not found: ~/models/b32.safetensors": "weights file not found: <path>",
        "photo DSC01234.jpg is broken": "photo <file> is broken",
        "Library: /tmp/lib, 3 photos": "Library: <path>, 3 photos",
    }
    for text, expected in cases.items():
        assert scrub(text) == expected
    for kept in ("model ViT-B-32/datacomp_xl_s13b_b90k, 64 bits", "CUDA out of memory (tried 2.0 GiB)", "a dog/cat query"):
        assert scrub(kept) == kept


def test_report_scrubs_every_string_unless_paths_are_allowed(tmp_path) -> None:
    status = {"library": "/home/ann/.local/share/BitLens", "photos": 12, "active_model": {"name": "itq 64 bits", "backbone": "/home/ann/cfg.json"}}
    errors = ["Indexing failed: cannot read /home/ann/Pictures/kids/IMG_1.jpg"]
    settings = {"library/location": "/mnt/photos-lib", "thumbnails/size": 160}
    hidden = report(status, errors, settings, include_paths=False, version_info={"bitlens": "0.1.0"})
    text = json.dumps(hidden)
    assert "/home/ann" not in text and "/mnt" not in text and "IMG_1" not in text
    assert hidden["library"]["photos"] == 12 and hidden["settings"]["thumbnails/size"] == 160
    assert hidden["recent_errors"] == ["Indexing failed: cannot read <path>"]
    shown = report(status, errors, settings, include_paths=True, version_info={"bitlens": "0.1.0"})
    assert shown["library"]["library"] == "/home/ann/.local/share/BitLens" and "IMG_1.jpg" in shown["recent_errors"][0]
    write_report(tmp_path / "r.json", hidden)
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == hidden


def test_the_report_module_loads_neither_torch_nor_qt() -> None:
    code = "import sys, engine.diagnostics as d; d.report(); print(sorted(m for m in ('torch', 'open_clip', 'PySide6') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr

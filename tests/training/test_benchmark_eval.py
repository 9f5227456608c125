"""`bitlens eval`: the benchmark protocol end to end on a miniature scenes benchmark."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import SCENES, STANDIN_WEIGHTS


@pytest.fixture
def mini_benchmark(tmp_path):
    """Four albums of the scenes benchmark with a trimmed ground_truth.json."""
    if not SCENES.is_dir() or not STANDIN_WEIGHTS.is_file():
        pytest.skip("scenes benchmark or stand-in backbone not found")
    gt = json.loads((SCENES / "ground_truth.json").read_text(encoding="utf-8"))
    albums = sorted({im["album"] for im in gt["images"]})[::20]
    root = tmp_path / "bench" / "mini"
    for album in albums:
        shutil.copytree(SCENES / album, root / album)
    gt["images"] = [im for im in gt["images"] if im["album"] in albums]
    (root / "ground_truth.json").write_text(json.dumps(gt), encoding="utf-8")
    shutil.copytree(STANDIN_WEIGHTS.parent, tmp_path / "bench" / "backbone")
    return root, gt


def test_eval_scores_every_task_against_baselines(mini_benchmark, tmp_path):
    from engine.training.benchmark import TASKS, format_table, run_benchmark
    from conftest import tree_fingerprint

    root, gt = mini_benchmark
    before = tree_fingerprint(root)
    results = run_benchmark(root, bits_list=[16], epochs=2, work=tmp_path / "work", out=tmp_path / "out")
    assert tree_fingerprint(root) == before  # the benchmark folder is only read
    methods = [row["method"] for row in results["rows"]]
    for expected in (
        "float cosine (backbone)",
        "random",
        "LSH (backbone)",
        "ITQ (untrained codes)",
        "trained: image codes",
        "trained: fused database codes",
        "trained: fused database codes, 12 views, expanded (as search does)",
    ):
        assert expected in methods
    for row in results["rows"]:
        for task in TASKS:
            if task in row:
                assert 0.0 <= row[task] <= 1.0
    assert results["database"] == sum(im["split"] == "database" for im in gt["images"])
    assert json.loads((tmp_path / "out" / "results.json").read_text())["rows"] == results["rows"]
    assert (tmp_path / "out" / "pr_curve.png").stat().st_size > 1000
    assert "query→image" in format_table(results)

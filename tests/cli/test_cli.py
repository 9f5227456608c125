"""The `bitlens` command as a user or a script runs it: JSON contracts, one-line errors.

Most tests run the command in this process (conftest.run_cli: engine.cli.main, the code the
console script calls), which spares each one a fresh interpreter and the torch import. The
smoke tests at the end start real processes for what only they show: codes that agree
between processes, a reader that went away, the offline first run, and a rescan that never
imports torch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, build_photo_tree, config_file, index_albums, run_cli


def bitlens(library: Path, *args: str, check: bool = True):
    """The CLI in this process (see conftest.run_cli)."""
    return run_cli(library, *args, check=check)


def bitlens_process(library: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter, as the console script does."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("BITLENS_HOME", None)
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--library", str(library), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"bitlens {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def indexed_template(tmp_path_factory):
    """The photo tree indexed once per module with `bitlens index`; tests get copies of the library."""
    root = tmp_path_factory.mktemp("cli")
    photos = build_photo_tree(root / "Photos")
    result = bitlens(root / "lib", "index", str(photos), "--backbone", "tiny")
    assert "9 added" in result.stdout
    return root / "lib", photos


@pytest.fixture
def indexed(indexed_template, tmp_path):
    """A private copy of the indexed library (the photos are shared and only read)."""
    template, photos = indexed_template
    library = shutil.copytree(template, tmp_path / "lib")
    return library, photos


def test_search_json_contract(indexed):
    library, photos = indexed
    results = json.loads(bitlens(library, "search", "a red car", "--json", "--limit", "4").stdout)
    assert [r["rank"] for r in results] == [1, 2, 3, 4]
    for r in results:
        assert set(r) == {"rank", "path", "distance"}
        assert Path(r["path"]).is_absolute() and Path(r["path"]).is_file()
        assert isinstance(r["distance"], int) and 0 <= r["distance"] <= 64
    assert [r["distance"] for r in results] == sorted(r["distance"] for r in results)
    everything = json.loads(bitlens(library, "search", "a red car", "--json", "--limit", "0").stdout)
    assert len(everything) == 9
    assert everything[:4] == results


def test_batch_search_json_lines(indexed, tmp_path):
    library, photos = indexed
    query_image = photos / "Camera Roll" / "IMG_0002.png"
    batch = tmp_path / "queries.txt"
    batch.write_text(f"a dog\n\n@{query_image}\nsnowy mountain\n", encoding="utf-8")
    lines = bitlens(library, "search", "--batch", str(batch), "--json", "--limit", "3").stdout.splitlines()
    rankings = [json.loads(line) for line in lines]
    assert [r["query"] for r in rankings] == ["a dog", f"@{query_image}", "snowy mountain"]
    assert all(len(r["results"]) == 3 for r in rankings)
    assert rankings[1]["results"][0] == {"rank": 1, "path": str(query_image), "distance": 0}


def test_folder_filter_option(indexed):
    library, photos = indexed
    holiday = photos / "2019-07 beach holiday"
    results = json.loads(bitlens(library, "search", "sea", "--folder", str(holiday), "--json", "--limit", "0").stdout)
    assert len(results) == 3 and all(Path(r["path"]).parent == holiday for r in results)


def test_show_status_and_folders(indexed):
    library, photos = indexed
    photo = photos / "Camera Roll" / "PXL_20200101_101010000.jpg"
    info = json.loads(bitlens(library, "show", str(photo), "--json").stdout)
    assert info["status"] == "ok" and (info["width"], info["height"]) == (160, 120)
    assert {(t["tag"], t["source"]) for t in info["tags"]} == {("mountain", "xmp"), ("snow", "xmp")}
    text = bitlens(library, "show", str(photo)).stdout
    assert "mountain  [xmp]" in text
    status = json.loads(bitlens(library, "status", "--json").stdout)
    assert (status["photos"], status["missing"], status["errors"], status["folders"]) == (9, 0, 0, 1)
    assert status["active_model"]["bits"] == 64 and "random weights" in status["active_model"]["backbone"]
    folders = json.loads(bitlens(library, "folders", "list", "--json").stdout)
    assert [f["path"] for f in folders] == [str(photos)] and folders[0]["photos"] == 9
    out = bitlens(library, "folders", "remove", str(photos)).stdout
    assert "no file was touched" in out
    assert all(p.exists() for p in [photo, photos / "Camera Roll" / "IMG_0002.png"])
    assert json.loads(bitlens(library, "status", "--json").stdout)["photos"] == 0


def test_bits_option_makes_codes_of_that_length(tmp_path, photo_tree):
    library = tmp_path / "lib"
    bitlens(library, "index", str(photo_tree), "--backbone", "tiny", "--bits", "16")
    status = json.loads(bitlens(library, "status", "--json").stdout)
    assert status["active_model"]["bits"] == 16
    results = json.loads(bitlens(library, "search", "dog", "--json", "--limit", "0").stdout)
    assert max(r["distance"] for r in results) <= 16


def test_train_keep_option_sets_how_much_of_the_backbone_training_keeps(tmp_path):
    from engine.facade import BitLens

    from engine.library.schema import Model

    library = tmp_path / "lib"
    index_albums(tmp_path / "Pictures", library, 8, 2020).close()  # 24 photos in three tagged albums
    config = config_file(tmp_path / "fast.json", {"network": {"dim": 32, "heads": 2}, "training": {"batch_size": 4, "warmup_steps": 1}})
    common = ("train", "--bits", "16", "--epochs", "1", "--config", str(config), "--device", "cpu")
    bitlens(library, *common)
    bitlens(library, *common, "--keep", "backbone")
    with BitLens(library) as lib, lib.store.session() as db:
        weights = [json.loads(m.config)["hashing"]["loss_weights"]["distillation"] for m in db.query(Model).filter(Model.kind == "hashing").order_by(Model.id)]
    assert weights == [0.0, 4.0]  # the config's own value unless --keep says otherwise
    assert bitlens(library, *common, "--keep", "everything", check=False).returncode != 0


@pytest.mark.parametrize(
    "args, message",
    [
        (("search", "a dog"), "run `bitlens index FOLDER` first"),
        (("show", "/no/such/photo.jpg"), "not in the library"),
        (("index", "/no/such/folder", "--backbone", "tiny"), "not a folder"),
        (("index", "--backbone", "no-such-model"), "unknown backbone"),
        (("folders", "remove", "/nowhere"), "not a library folder"),
    ],
)
def test_errors_are_one_clear_line(tmp_path, args, message):
    result = bitlens(tmp_path / "lib", *args, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bitlens: error:") and message in lines[0], result.stderr


# -- real processes ------------------------------------------------------------------------


def into_closed_pipe(library: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI with its stdout a pipe whose reader is already closed (`| head` that has finished)."""
    reader, writer = os.pipe()
    os.close(reader)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("BITLENS_HOME", None)
    try:
        return subprocess.run(
            [sys.executable, "-m", "engine.cli", "--library", str(library), *args],
            cwd=REPO,
            env=env,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(writer)


def test_closed_pipe_ends_quietly(tmp_path):
    result = into_closed_pipe(tmp_path / "lib", "status")
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert result.returncode == 141


def test_processes_agree_on_codes_and_a_closed_pipe_ends_quietly(tmp_path, photo_tree):
    """Index in one process, search in others: the tiny backbone is seeded, so every process
    makes the same image and text codes; `bitlens search … | head` ends without a traceback."""
    library = tmp_path / "lib"
    assert "9 added" in bitlens_process(library, "index", str(photo_tree), "--backbone", "tiny").stdout
    query = photo_tree / "2019-07 beach holiday" / "sunset_dog.jpg"
    batch = tmp_path / "queries.txt"
    batch.write_text(f"@{query}\na red car\n", encoding="utf-8")
    lines = bitlens_process(library, "search", "--batch", str(batch), "--json", "--limit", "0").stdout.splitlines()
    by_image, by_text = (json.loads(line)["results"] for line in lines)
    assert by_image[0] == {"rank": 1, "path": str(query), "distance": 0}
    assert by_text == json.loads(bitlens(library, "search", "a red car", "--json", "--limit", "0").stdout)
    # `bitlens search … | head` when head has already gone: no traceback, the SIGPIPE status
    closed = into_closed_pipe(library, "search", "a red car", "--limit", "0")
    assert closed.returncode == 141 and closed.stderr == ""


def test_default_backbone_offline_fails_fast_with_advice(tmp_path, photo_tree):
    env_home = tmp_path / "hf"  # an empty Hugging Face cache
    env = {**os.environ, "HF_HOME": str(env_home), "HF_HUB_OFFLINE": "1"}
    import time

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--library", str(tmp_path / "lib"), "index", str(photo_tree)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "not downloaded yet" in result.stderr and "--weights FILE" in result.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s"  # process start + imports; no network retries


def test_rescan_of_an_unchanged_library_does_not_load_the_model(indexed):
    library, photos = indexed
    code = (
        "import sys; from engine.cli import main; "
        f"rc = main(['--library', {str(library)!r}, 'index']); "
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "9 unchanged" in out and out.strip().endswith("NO-TORCH 0"), out

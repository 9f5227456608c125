"""Photos are never touched: index, train, search and folder removal leave every file and
folder below an indexed folder byte-identical (and unrenamed, undeleted, un-added), and
everything BitLens writes lands in its own data and cache folders."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, config_file, make_photo

from .helpers import bitlens, cli_env, tree_state, unprivileged_prefix


def _files_below(root: Path) -> set[str]:
    return {os.path.join(d, n) for d, dirs, files in os.walk(root) for n in dirs + files}


def _make_read_only(root: Path) -> None:
    for directory, dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & ~0o222)
        os.chmod(directory, stat.S_IMODE(os.lstat(directory).st_mode) & ~0o222)


def _session_in_one_process(photo_tree: Path, config: Path, env: dict, prefix: list[str]) -> None:
    run = subprocess.run(
        [*prefix, sys.executable, str(Path(__file__).with_name("lifecycle_driver.py")), str(photo_tree), str(config)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["text"] and found["image"] == [str(photo_tree / "Camera Roll" / "IMG_0002.png")] and found["left"] == 0


def _session_with_the_cli(photo_tree: Path, config: Path, env: dict, prefix: list[str]) -> None:
    run = lambda *args: bitlens(None, *args, prefix=prefix, env=env)  # noqa: E731 - no --library: the platform folders
    run("index", str(photo_tree), "--backbone", "tiny")
    run("train", "--bits", "32", "--epochs", "2", "--config", str(config), "--activate", "--device", "cpu")
    assert json.loads(run("search", "snowy mountain", "--json").stdout), "search must answer after training"
    query = photo_tree / "Camera Roll" / "IMG_0002.png"
    assert json.loads(run("search", "--image", str(query), "--json", "--limit", "1").stdout)[0]["path"] == str(query)
    run("show", str(query))
    run("folders", "remove", str(photo_tree))
    assert json.loads(run("status", "--json").stdout)["photos"] == 0


@pytest.mark.parametrize(
    "session",
    [
        pytest.param(_session_in_one_process, id="engine"),
        pytest.param(_session_with_the_cli, id="cli", marks=pytest.mark.slow),
    ],
)
def test_index_train_search_and_remove_never_touch_the_photos(tmp_path, photo_tree, request, session):
    home = tmp_path / "home"
    home.mkdir()
    # Things a photo folder holds besides photos: app metadata, a hidden file, a link.
    (photo_tree / ".DS_Store").write_bytes(b"\0\1finder")
    (photo_tree / "Thumbs.db").write_bytes(b"windows thumbs")
    (photo_tree / "Camera Roll" / "link_to_beach").symlink_to(photo_tree / "2019-07 beach holiday")
    for i in range(24):  # enough tagged photos to train on
        make_photo(photo_tree / ("2020 mountain trip", "2021 city walk")[i % 2] / f"IMG_{i:04d}.jpg", 50 + i)
    # A tripwire on top of the comparison: any attempt to write there fails loudly.
    _make_read_only(photo_tree)
    request.addfinalizer(
        lambda: [os.chmod(os.path.join(d, n), 0o755) for d, ds, fs in os.walk(photo_tree) for n in ds + fs if not os.path.islink(os.path.join(d, n))]
    )
    before = tree_state(photo_tree)

    config = config_file(tmp_path / "fast.json", {"network": {"dim": 32, "heads": 2}, "training": {"batch_size": 16, "warmup_steps": 2}})
    outside_before = _files_below(tmp_path)
    # No --library and no BITLENS_HOME: the library goes where platformdirs says, in a fake home.
    env = {k: v for k, v in cli_env().items() if k not in ("XDG_DATA_HOME", "XDG_CACHE_HOME")}
    env["HOME"] = str(home)
    session(photo_tree, config, env, unprivileged_prefix())  # as root, the read-only modes bind only without CAP_DAC_*

    after = tree_state(photo_tree)
    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    assert not changed and before.keys() == after.keys(), (
        f"changed: {sorted(changed)}; created: {sorted(after.keys() - before.keys())}; gone: {sorted(before.keys() - after.keys())}"
    )
    # Everything written is under the platform data and cache folders of BitLens.
    data, cache = home / ".local" / "share" / "BitLens", home / ".cache" / "BitLens"
    assert (data / "library.sqlite").is_file() and any((data / "models").glob("hashing-*.safetensors"))
    parents = {str(home / ".local"), str(home / ".local" / "share"), str(home / ".cache")}
    stray = [
        p for p in sorted(_files_below(tmp_path) - outside_before) if not (Path(p).is_relative_to(data) or Path(p).is_relative_to(cache)) and p not in parents
    ]
    assert not stray, f"files written outside BitLens's own folders: {stray}"

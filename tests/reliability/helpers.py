"""Shared pieces of the reliability tests: the CLI in a real process, library snapshots."""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.process
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Optional

from conftest import REPO, run_cli

# Run as root, chmod cannot make a file unreadable: the kernel lets root read anything.
# Dropping the two capabilities that bypass permissions makes root a normal reader.
DROP_CAPS = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def unprivileged_prefix() -> list[str]:
    """Command prefix under which file permissions apply (empty when not root)."""
    if not is_root():
        return []
    if shutil.which("setpriv") is None:
        import pytest

        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return DROP_CAPS


def cli_env() -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    env.pop("BITLENS_HOME", None)
    return env


def cli_command(library: Optional[Path], *args: str) -> list[str]:
    """The CLI's command line; library None = no --library (the platform's folders)."""
    return [sys.executable, "-m", "engine.cli", *(["--library", str(library)] if library is not None else []), *args]


# Modules a CLI run imports before it touches the library: a forked child finds them loaded.
_PRELOAD = ["engine.cli", "engine.library.library", "engine.models.backbones", "engine.training.lifecycle", "torch", "open_clip"]


def _run_cli_quietly(argv: list[str]) -> None:
    """What a forked CLI child runs: `bitlens ARGV`, its output discarded, its status as the exit code."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    from engine.cli import main

    sys.exit(main(argv))


def start_cli(library: Path, *args: str) -> multiprocessing.process.BaseProcess:
    """Start `bitlens --library LIBRARY ARGS` in a process of its own, to be killed mid-work.

    The process is forked from a server that imported the engine, torch and open_clip once
    (multiprocessing's forkserver), so it starts in milliseconds instead of paying for a fresh
    interpreter and the torch import each time; from there on it is the CLI's own code, and a
    SIGKILL ends it like any other process (the server is single-threaded, so forking it is safe).
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    process = context.Process(target=_run_cli_quietly, args=(["--library", str(library), *args],), daemon=True)
    process.start()
    return process


def bitlens(
    library: Optional[Path], *args: str, check: bool = True, prefix: Optional[list[str]] = None, timeout: float = 300, env: Optional[dict] = None
) -> subprocess.CompletedProcess:
    """Run the CLI: in this process (conftest.run_cli), or in a fresh interpreter where `prefix`
    (e.g. without root powers) or `env` (another home folder) asks for a process of its own."""
    if prefix is None and env is None and library is not None:
        return run_cli(library, *args, check=check)
    result = subprocess.run([*(prefix or []), *cli_command(library, *args)], cwd=REPO, env=env or cli_env(), capture_output=True, timeout=timeout)
    result.stdout = result.stdout.decode("utf-8", "replace")
    result.stderr = result.stderr.decode("utf-8", "replace")
    if check and result.returncode != 0:
        raise AssertionError(f"bitlens {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def integrity(database: Path) -> str:
    db = sqlite3.connect(database)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def snapshot(database: Path) -> dict:
    """What a user would see of a library: photo rows, tags, active codes, model counts."""
    db = sqlite3.connect(database)
    try:
        return {
            "photos": db.execute("SELECT path, size, mtime_ns, content_hash, width, height, format, status, error FROM images ORDER BY path").fetchall(),
            "tags": db.execute(
                "SELECT i.path, t.name, it.source FROM image_tags it JOIN images i ON i.id = it.image_id JOIN tags t ON t.id = it.tag_id "
                "ORDER BY i.path, t.name, it.source"
            ).fetchall(),
            "codes": db.execute(
                "SELECT i.path, m.kind, m.bits, c.code FROM codes c JOIN images i ON i.id = c.image_id JOIN models m ON m.id = c.model_id "
                "WHERE m.active ORDER BY i.path"
            ).fetchall(),
            "models": db.execute("SELECT kind, bits, active FROM models ORDER BY id").fetchall(),
            "embeddings": db.execute("SELECT count(*), count(DISTINCT content_hash || backbone_key) FROM embeddings").fetchone(),
        }
    finally:
        db.close()


def tree_state(root: Path) -> dict[str, tuple]:
    """Every entry below `root` (hidden ones too): kind, bytes' sha256, mode and mtime."""
    state: dict[str, tuple] = {}
    for directory, dirs, files in os.walk(root, followlinks=False):
        for name in sorted(dirs + files):
            path = os.path.join(directory, name)
            key = os.path.relpath(path, root)
            info = os.lstat(path)
            if os.path.islink(path):
                state[key] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                state[key] = ("dir", info.st_mode, info.st_mtime_ns)
            else:
                digest = hashlib.sha256()
                with open(path, "rb") as handle:
                    while block := handle.read(1 << 20):
                        digest.update(block)
                state[key] = ("file", digest.hexdigest(), info.st_size, info.st_mode, info.st_mtime_ns)
    return state

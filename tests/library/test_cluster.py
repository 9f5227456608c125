"""Indexing on a Ray cluster (a local Ray here) gives the library a local run gives, and survives faults."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import time
from pathlib import Path

import pytest

from conftest import make_photo

ray = pytest.importorskip("ray")

PHOTOS = 16
BATCH = 4


@pytest.fixture(scope="module")
def ray_local():
    """One small Ray for the module (starting one costs seconds): 2 CPUs, a small object store."""
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 << 20, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cluster") / "Photos"
    for i in range(PHOTOS):
        make_photo(root / f"album {i % 3}" / f"IMG_{i:04d}.jpg", 100 + i)
    (root / "album 0" / "broken.jpg").write_bytes(b"not a jpeg at all")
    return root


def _embeddings(library) -> dict[str, bytes]:
    with sqlite3.connect(library.paths.database) as db:
        return dict(db.execute("SELECT content_hash, vector FROM embeddings"))


def _ranking(library, text: str) -> list[str]:
    return [Path(r.path).name for r in library.searcher().search(text=text, limit=0)]


def _workers() -> list:
    from engine.library.cluster import NAME_PREFIX

    return [ray.get_actor(name) for name in ray.util.list_named_actors() if name.startswith(NAME_PREFIX)]


@pytest.fixture(scope="module")
def local_library(tmp_path_factory, photos, tiny_spec):
    from engine.facade import BitLens

    library = BitLens(tmp_path_factory.mktemp("local") / "library")
    library.index([photos], backbone=tiny_spec, precision="fp32", batch_size=BATCH)
    yield library
    library.close()


def test_cluster_index_equals_local_index(ray_local, photos, tiny_spec, local_library, tmp_path):
    from engine.facade import BitLens

    lines = []
    with BitLens(tmp_path / "library") as library:
        report = library.index([photos], backbone=tiny_spec, precision="fp32", batch_size=BATCH, cluster="local", progress=lambda e: lines.append(e.message))
        assert report.encoded == PHOTOS and report.errors == 1  # the broken file is reported, as locally
        assert any("Ray cluster" in line and "photos read from shared storage" in line for line in lines)
        assert _embeddings(library) == _embeddings(local_library)  # bit for bit: same batches, same code
        for query in ("a red car", "beach"):
            assert _ranking(library, query) == _ranking(local_library, query)
        assert library.status()["active_model"]["backbone"] == local_library.status()["active_model"]["backbone"]


def test_photo_bytes_sent_when_workers_do_not_see_the_files(ray_local, photos, tiny_spec, local_library):
    from engine.library.cluster import Cluster

    paths = sorted(str(p) for p in photos.rglob("IMG_*.jpg"))
    want = _embeddings(local_library)
    from engine.library.scanner import content_hash

    with Cluster("local") as cluster:
        encoder = cluster.encoder(tiny_spec, batch_size=BATCH)
        encoder.send_bytes = True
        try:
            got = {}
            for batch in encoder.encode(paths):
                for i, vector in zip(batch.indices, batch.embeddings):
                    got[content_hash(paths[i])] = vector.tobytes()
            assert "photo bytes sent from this computer" in encoder.message
        finally:
            encoder.send_bytes = False
    assert got == {h: want[h] for h in got} and len(got) == len(paths)


def test_a_killed_worker_is_retried_and_every_photo_is_indexed_once(ray_local, photos, tiny_spec, local_library, tmp_path):
    from engine.facade import BitLens

    killed = []

    def kill_one_worker(event):
        if event.stage == "encode" and event.done > 0 and not killed:
            worker = _workers()[0]
            pid = ray.get(worker.info.remote())["pid"]
            os.kill(pid, signal.SIGKILL)  # as the OOM killer or a lost node would
            killed.append(pid)

    with BitLens(tmp_path / "library") as library:
        report = library.index([photos], backbone=tiny_spec, precision="fp32", batch_size=BATCH, cluster="local", progress=kill_one_worker)
        assert killed, "the run finished before a worker could be killed"
        assert report.encoded == PHOTOS
        assert _embeddings(library) == _embeddings(local_library)
        with sqlite3.connect(library.paths.database) as db:
            coded = db.execute("SELECT count(*), count(DISTINCT image_id) FROM codes c JOIN models m ON m.id = c.model_id AND m.active").fetchone()
        assert coded == (PHOTOS, PHOTOS)
    pids = [ray.get(w.info.remote())["pid"] for w in _workers()]
    assert killed[0] not in pids  # Ray restarted the worker


def test_an_interrupted_cluster_run_resumes_with_the_rest(ray_local, photos, tiny_spec, local_library, tmp_path):
    from engine.jobs import Cancelled, CancelToken
    from engine.facade import BitLens

    cancel = CancelToken()

    def stop_after_first_batch(event):
        if event.stage == "encode" and event.done > 0:
            cancel.cancel()

    with BitLens(tmp_path / "library") as library:
        with pytest.raises(Cancelled):
            library.index([photos], backbone=tiny_spec, precision="fp32", batch_size=BATCH, cluster="local", progress=stop_after_first_batch, cancel=cancel)
        kept = len(_embeddings(library))
        assert 0 < kept < PHOTOS
        report = library.index(backbone=tiny_spec, precision="fp32", batch_size=BATCH, cluster="local")
        assert report.encoded == PHOTOS - kept
        assert _embeddings(library) == _embeddings(local_library)


def test_an_unreachable_cluster_is_one_line_within_seconds_and_changes_nothing(photos, tmp_path, capsys):
    from engine.cli import main
    from engine.facade import BitLens

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    library = tmp_path / "library"
    BitLens(library).close()
    started = time.monotonic()
    code = main(["--library", str(library), "index", str(photos), "--cluster", f"127.0.0.1:{port}"])
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "cannot reach the Ray cluster" in err[0] and "ray start --head" in err[0]
    with BitLens(library) as opened:
        assert opened.folders() == [] and opened.status()["photos"] == 0  # the folder was not added, nothing was scanned


def test_a_port_held_by_something_else_is_one_line_at_once(tmp_path):
    import threading

    from engine.library.cluster import ClusterError
    from engine.facade import BitLens

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def hang_up():  # accepts and closes, like a service that is not Ray
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    started = time.monotonic()
    try:
        with BitLens(tmp_path / "library") as library, pytest.raises(ClusterError, match="no Ray head"):
            library.index([tmp_path], cluster=f"127.0.0.1:{server.getsockname()[1]}")
        assert time.monotonic() - started < 10  # ray.init alone would retry for minutes
    finally:
        server.close()

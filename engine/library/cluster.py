"""Indexing on a Ray cluster: decoding and the backbone run on Ray actors, the rest stays here.

``bitlens index FOLDER --cluster ADDRESS`` connects to Ray (``HOST:PORT`` of a ``ray
start --head`` node, ``ray://HOST:10001`` for Ray Client, or ``local`` for a Ray started
in this process). The scan, the one SQLite writer, progress and cancel stay on this
machine: :class:`ClusterEncoder` has the interface of :class:`~engine.models.encoder.ImageEncoder`
(``encode(paths, cancel)`` yields :class:`EncodedBatch` es), so ``encode_missing`` commits
the cluster's batches exactly as it commits local ones, as they arrive.

Identical results: a worker runs the same backbone code on the same batches (the same
``batch_size`` chunks of the same list), so on the same kind of device it gives the
embeddings a local run gives. Faults: workers are actors that Ray restarts, and a batch
whose worker died is run again by Ray (``max_task_retries``); the driver commits each
batch once. Photo bytes: a worker reads a photo from its own path when it sees the same
file there (a shared NAS mount, checked by content hash on a sample), otherwise this
machine reads the file and sends its bytes.

Needs the optional ``ray`` package (``pip install bitlens[cluster]``).
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import uuid
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ..jobs import CancelToken
from ..models.backbones import BackboneSpec
from ..models.encoder import EncodedBatch

LOCAL = "local"
NAME_PREFIX = "bitlens-encoder-"
IN_FLIGHT_PER_WORKER = 2  # one batch running, one queued: a worker never waits on the driver
PROBE_SAMPLE = 3  # photos a worker hashes to decide whether it sees this machine's files


# Workers kept between runs while a Ray that this module did not start stays up (the app's
# own Ray, a test's): starting one costs an import of torch and open_clip (~10 s).
_POOL: dict[tuple, "ClusterEncoder"] = {}


class ClusterError(RuntimeError):
    """The Ray cluster cannot be used (not installed, unreachable, refused), in one line."""


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fail within `timeout` seconds, with one clear line, when nothing listens at ADDRESS.

    ray.init itself keeps retrying an unreachable head for about a minute.
    """
    if address == LOCAL:
        return
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--cluster wants HOST:PORT (a `ray start --head` node), ray://HOST:10001 or local, not '{address}'")
    try:
        connection = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ClusterError(
            f"cannot reach the Ray cluster at {address} ({reason}): start it there with `ray start --head`, or index on this computer without --cluster"
        ) from None
    with connection:
        if not _answers_http2(connection, timeout):
            raise ClusterError(
                f"cannot connect to the Ray cluster at {address}: something answers there, but no Ray head "
                "(check the address, and that `ray start --head` runs there)"
            )


# The HTTP/2 client preface and an empty SETTINGS frame (RFC 9113, 3.4 and 6.5).
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def _answers_http2(connection: socket.socket, timeout: float) -> bool:
    """Whether the server speaks HTTP/2, as Ray's head (GCS) and Ray Client do (gRPC).

    A server must open with a SETTINGS frame. Without this check, a port held by another
    service keeps ray.init retrying for minutes (about 40 s per attempt when the peer
    closes at once).
    """
    try:
        connection.settimeout(timeout)
        connection.sendall(_H2_PREFACE)
        header = b""
        while len(header) < 9:
            chunk = connection.recv(9 - len(header))
            if not chunk:
                return False
            header += chunk
        return header[3] == 0x04  # frame type SETTINGS
    except OSError:
        return False


class Cluster:
    """A connection to Ray for one indexing run (closed afterwards unless Ray was already up)."""

    def __init__(self, address: str, num_cpus: Optional[int] = None, object_store_mb: int = 256) -> None:
        check_reachable(address)
        try:
            import ray
        except ImportError:
            raise ClusterError("indexing on a cluster needs Ray: `pip install bitlens[cluster]`") from None
        self.address = address
        self._encoders: list[ClusterEncoder] = []
        self._owns = not ray.is_initialized()
        if self._owns:
            try:
                if address == LOCAL:
                    ray.init(
                        num_cpus=num_cpus, include_dashboard=False, object_store_memory=object_store_mb << 20, log_to_driver=False, configure_logging=False
                    )
                elif address.startswith("ray://"):
                    ray.init(address=address)  # Ray Client passes other arguments on to the server's ray.init
                else:
                    with _connect_quietly():
                        ray.init(address=address, log_to_driver=False, configure_logging=False)
            except ConnectionError:
                raise ClusterError(
                    f"cannot connect to the Ray cluster at {address}: something answers there, but no Ray head "
                    "(check the address, and that `ray start --head` runs there with this Ray version)"
                ) from None
            except Exception as error:  # a version mismatch, a refused client: one line, nothing changed
                raise ClusterError(f"cannot connect to the Ray cluster at {address}: {_first_line(error)}") from None

    def close(self) -> None:
        """Stop Ray (and so this run's workers) when this connection started it; else keep the workers for the next run."""
        import ray

        if self._owns:
            for encoder in self._encoders:
                encoder.close()
            _POOL.clear()
            if ray.is_initialized():
                ray.shutdown()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_gpu(self) -> bool:
        import ray

        return ray.cluster_resources().get("GPU", 0) > 0

    def encoder(
        self, spec: BackboneSpec, batch_size: int = 32, workers: Optional[int] = None, device: str = "auto", cpus_per_worker: int = 1
    ) -> "ClusterEncoder":
        """A pool of workers for this backbone (the last run's, when it fits)."""
        import ray

        key = (ray.get_runtime_context().get_job_id(), spec.key, workers, device, cpus_per_worker)
        encoder = _POOL.get(key)
        if encoder is None or not encoder.workers:
            # One pool at a time: other workers would hold the CPUs the new ones wait for.
            for old in _POOL.values():
                old.close()
            _POOL.clear()
            encoder = _POOL[key] = ClusterEncoder(spec, batch_size, workers, device, cpus_per_worker)
        encoder.batch_size = batch_size
        self._encoders.append(encoder)
        return encoder


@contextlib.contextmanager
def _connect_quietly(wait_s: int = 5) -> Iterator[None]:
    """Give up on a head that does not answer as Ray within `wait_s` (Ray's own wait is 20 s), without its retry log.

    Something else listening on the port (a proxy, another service) passes the TCP check;
    Ray's C++ client then logs a warning a second on stderr while it retries. That output
    is held back and shown only if the connection succeeds.
    """
    import tempfile

    key = "RAY_gcs_server_port_wait_time_s"
    previous = os.environ.get(key)
    os.environ.setdefault(key, str(wait_s))
    held = tempfile.TemporaryFile()
    saved = os.dup(2)
    os.dup2(held.fileno(), 2)
    ok = False
    try:
        yield
        ok = True
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        if previous is None:
            os.environ.pop(key, None)
        if ok:
            held.seek(0)
            os.write(2, held.read())
        held.close()


def _worker_class() -> Any:
    """The Ray actor class (defined on first use, so importing this module needs no Ray); Any: Ray builds it at run time."""
    import ray

    @ray.remote(max_restarts=-1, max_task_retries=-1)
    class EncodeWorker:
        """One backbone on one node: decodes and encodes the batches it is sent."""

        def __init__(self, spec_json: str, device: str, threads: int) -> None:
            import torch

            from ..models.backbones import Backbone

            torch.set_num_threads(threads)
            self.threads = threads
            # An int8 tower is exported once per node, into that node's BitLens cache.
            self.backbone = Backbone(BackboneSpec.from_json(spec_json), device=device)

        def info(self) -> dict:
            import ray

            return {"has_tokens": self.backbone.has_tokens, "device": self.backbone.device, "pid": os.getpid(), "node": ray.util.get_node_ip_address()}

        def sees(self, sample: list[tuple[str, int, str]]) -> bool:
            """Whether this worker reads the same files at the same paths (a shared mount)."""
            from .scanner import content_hash

            try:
                return all(os.path.getsize(p) == size and content_hash(p) == digest for p, size, digest in sample)
            except OSError:
                return False

        def encode(self, inputs: list[str | bytes]) -> EncodedBatch:
            """One batch: paths, or bytes sent by the driver; its embeddings and tokens as float16."""
            from ..models.encoder import ImageEncoder

            sources = [io.BytesIO(x) if isinstance(x, bytes) else x for x in inputs]
            encoder = ImageEncoder(self.backbone, batch_size=max(1, len(sources)), workers=max(2, self.threads))
            batch = next(iter(encoder.encode(sources)))
            # Stored as float16 anyway (EMBED_DTYPE, the feature cache): halve what crosses the network.
            batch.embeddings = batch.embeddings.astype(np.float16)
            if batch.tokens is not None:
                batch.tokens = batch.tokens.astype(np.float16)
            return batch

    return EncodeWorker


def _read(path: str) -> bytes | str:
    """A photo's bytes to send; an unreadable file goes as its path, so the worker reports why."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return path


class ClusterEncoder:
    """Photo paths in, EncodedBatches out, computed by a pool of Ray actors."""

    def __init__(
        self,
        spec: BackboneSpec,
        batch_size: int = 32,
        workers: Optional[int] = None,
        device: str = "auto",
        cpus_per_worker: int = 1,
        start_timeout: float = 600.0,
    ) -> None:
        import ray

        self.batch_size = batch_size
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if workers is None:
            workers = gpus or max(1, int(ray.cluster_resources().get("CPU", 1)) // cpus_per_worker)
        options = {"num_cpus": cpus_per_worker, "num_gpus": 1 if gpus else 0}
        cls = _worker_class()
        run = uuid.uuid4().hex[:8]
        self.workers = [cls.options(name=f"{NAME_PREFIX}{run}-{i}", **options).remote(spec.to_json(), device, cpus_per_worker) for i in range(workers)]
        # Workers load the backbone while this machine scans; `ready` waits for them.
        self._starting = [w.info.remote() for w in self.workers]
        self._start_timeout = start_timeout
        self._resource = "GPU" if gpus else "CPU"
        self.infos: list[dict] = []
        self.send_bytes = False  # True: always send photo bytes, even to workers that see the files
        self.message = f"encoding photos on the Ray cluster ({len(self.workers)} workers)"

    def ready(self) -> None:
        """Wait until every worker has loaded the backbone (ClusterError if none can)."""
        import ray

        if self.infos:
            return
        try:
            self.infos = ray.get(self._starting, timeout=self._start_timeout)
        except ray.exceptions.GetTimeoutError:
            self.close()
            raise ClusterError(
                f"no Ray worker started within {self._start_timeout:.0f} s: the cluster has no free {self._resource} for one, or cannot load the backbone"
            ) from None
        except Exception as error:
            self.close()
            raise ClusterError(f"the Ray workers could not load the backbone: {_first_line(error)}") from None

    @property
    def has_tokens(self) -> bool:
        self.ready()
        return self.infos[0]["has_tokens"]

    def close(self) -> None:
        import ray

        for worker in self.workers:
            ray.kill(worker, no_restart=True)
        self.workers = []

    def _probe(self, paths: Sequence[str]) -> list[bool]:
        """Per worker: does it see this machine's photos at the same paths?"""
        import ray

        from .scanner import content_hash

        sample = []
        for path in [p for p in paths if isinstance(p, str)][:PROBE_SAMPLE]:
            try:
                sample.append((path, os.path.getsize(path), content_hash(path)))
            except OSError:
                continue
        if not sample:
            return [False] * len(self.workers)
        return ray.get([w.sees.remote(sample) for w in self.workers])

    def encode(self, paths: Sequence[str], cancel: Optional[CancelToken] = None) -> Iterator[EncodedBatch]:
        """Yield every batch of `paths` once, in the order they finish; indices are positions in `paths`."""
        import ray

        if not paths:
            return
        self.ready()
        # Probed per run: another run's folders may live on another mount.
        sees = [False] * len(self.workers) if self.send_bytes else self._probe(paths)
        shared = sum(sees)
        how = (
            "photos read from shared storage"
            if shared == len(self.workers)
            else "photo bytes sent from this computer"
            if not shared
            else f"{shared} of {len(self.workers)} workers read shared storage, the others get bytes from this computer"
        )
        self.message = f"encoding photos on the Ray cluster ({len(self.workers)} workers, {how})"
        batches = [list(range(s, min(s + self.batch_size, len(paths)))) for s in range(0, len(paths), self.batch_size)]
        queue = iter(range(len(batches)))
        pending: dict = {}  # object ref → (batch number, worker number)
        load = [0] * len(self.workers)

        def submit() -> bool:
            number = next(queue, None)
            if number is None:
                return False
            w = min(range(len(self.workers)), key=lambda i: load[i])
            inputs = [paths[i] if sees[w] else _read(paths[i]) for i in batches[number]]
            pending[self.workers[w].encode.remote(inputs)] = (number, w)
            load[w] += 1
            return True

        for _ in range(IN_FLIGHT_PER_WORKER * len(self.workers)):
            if not submit():
                break
        try:
            while pending:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
                for ref in ready:
                    number, w = pending.pop(ref)
                    load[w] -= 1
                    result: EncodedBatch = ray.get(ref)
                    submit()
                    index = batches[number]
                    yield EncodedBatch(
                        [index[i] for i in result.indices], result.embeddings, result.tokens, [(index[i], reason) for i, reason in result.failures]
                    )
        finally:
            for ref in pending:
                try:
                    ray.cancel(ref, force=False)
                except Exception:  # already finished, or its worker is gone: close() kills the workers anyway
                    pass


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__

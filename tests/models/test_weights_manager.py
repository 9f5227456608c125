"""The weights manager, against a stand-in hub: a local HTTP server started by the test."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from engine.jobs import CancelToken
from engine.models import hub
from engine.models.weights import WeightsUnavailable

COMMIT = "0123456789abcdef0123456789abcdef01234567"
MODEL = hub.HubModel(
    "ViT-B-32", "datacomp_xl_s13b_b90k", "laion/CLIP-ViT-B-32-DataComp.XL-s13B-b90K", ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
)


def safetensors_bytes(tmp_path: Path, size: int = 600_000) -> bytes:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(7)
    path = tmp_path / "generated.safetensors"
    save_file({"visual.proj": rng.standard_normal(size // 4, dtype=np.float32)}, str(path))
    return path.read_bytes()


class FakeHub:
    """Serves one file the way the hub does: HEAD on /REPO/resolve/main/NAME → 302 + sha256 ETag; GET with Range."""

    def __init__(self, repo_id: str, filename: str, content: bytes) -> None:
        self.repo_id, self.filename, self.content = repo_id, filename, content
        self.advertised_sha = hashlib.sha256(content).hexdigest()
        self.break_after: int | None = None  # the next GET stops after this many bytes
        self.ranges: list[str | None] = []
        self.bytes_sent = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                if self.path != f"/{fake.repo_id}/resolve/main/{fake.filename}":
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(302)
                self.send_header("Location", f"/cdn/{fake.advertised_sha}")
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("X-Linked-Etag", f'"{fake.advertised_sha}"')
                self.send_header("X-Linked-Size", str(len(fake.content)))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                if not self.path.startswith("/cdn/"):
                    self.send_response(404)
                    self.end_headers()
                    return
                wanted = self.headers.get("Range")
                fake.ranges.append(wanted)
                start = int(wanted.split("=")[1].rstrip("-")) if wanted else 0
                body = fake.content[start:]
                self.send_response(206 if wanted else 200)
                if wanted:
                    self.send_header("Content-Range", f"bytes {start}-{len(fake.content) - 1}/{len(fake.content)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if fake.break_after is not None:
                    body, fake.break_after = body[: fake.break_after], None
                    fake.bytes_sent += len(body)  # counted first: the client may finish before this thread goes on
                    self.wfile.write(body)
                    self.close_connection = True
                    return
                fake.bytes_sent += len(body)
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch) -> Path:
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    return cache


@pytest.fixture
def fake_hub(tmp_path: Path, hub_cache):
    fake = FakeHub(MODEL.repo_id, "open_clip_model.safetensors", safetensors_bytes(tmp_path))
    yield fake
    fake.close()


def test_download_lands_in_the_hugging_face_cache_layout(fake_hub, hub_cache: Path) -> None:
    events = []
    path = hub.download(MODEL, endpoint=fake_hub.endpoint, progress=events.append, timeout=5)
    assert path.read_bytes() == fake_hub.content
    # huggingface_hub itself (and so open_clip) finds the file where we put it
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(MODEL.repo_id, "open_clip_model.safetensors", cache_dir=str(hub_cache))
    assert found is not None and Path(found).read_bytes() == fake_hub.content
    repo = hub_cache / "models--laion--CLIP-ViT-B-32-DataComp.XL-s13B-b90K"
    assert (repo / "refs" / "main").read_text() == COMMIT
    assert (repo / "blobs" / fake_hub.advertised_sha).is_file()
    assert events and events[-1].done == events[-1].total == len(fake_hub.content)
    # a second call finds the cache and asks the server nothing
    fake_hub.ranges.clear()
    assert hub.download(MODEL, endpoint=fake_hub.endpoint) == path
    assert fake_hub.ranges == []


def test_a_broken_download_resumes_where_it_stopped(fake_hub, hub_cache: Path) -> None:
    fake_hub.break_after = 250_000
    with pytest.raises(WeightsUnavailable, match="resume"):
        hub.download(MODEL, endpoint=fake_hub.endpoint, timeout=5)
    partial = MODEL.repo_folder() / "blobs" / (fake_hub.advertised_sha + ".incomplete")
    assert partial.stat().st_size == 250_000
    assert hub.cached_file(MODEL) is None
    sent_before = fake_hub.bytes_sent
    path = hub.download(MODEL, endpoint=fake_hub.endpoint, timeout=5)
    assert fake_hub.ranges[-1] == "bytes=250000-"
    assert fake_hub.bytes_sent - sent_before == len(fake_hub.content) - 250_000
    assert path.read_bytes() == fake_hub.content
    assert not partial.exists()


def test_a_cancelled_download_keeps_its_part_for_later(fake_hub) -> None:
    from engine.jobs import Cancelled

    class CancelAfterFirstChunk(CancelToken):
        """The user presses Cancel while the first chunk is being written."""

        @property
        def cancelled(self) -> bool:
            return True

    with pytest.raises(Cancelled):
        hub.download(MODEL, endpoint=fake_hub.endpoint, cancel=CancelAfterFirstChunk(), timeout=5)
    partial = MODEL.repo_folder() / "blobs" / (fake_hub.advertised_sha + ".incomplete")
    assert 0 < partial.stat().st_size < len(fake_hub.content)
    assert hub.download(MODEL, endpoint=fake_hub.endpoint, timeout=5).read_bytes() == fake_hub.content


def test_a_damaged_download_is_refused_and_deleted(fake_hub) -> None:
    fake_hub.advertised_sha = "f" * 64  # the hub promises other bytes than it sends
    with pytest.raises(WeightsUnavailable, match="damaged"):
        hub.download(MODEL, endpoint=fake_hub.endpoint, timeout=5)
    assert hub.cached_file(MODEL) is None
    assert list((MODEL.repo_folder() / "blobs").iterdir()) == []


def test_offline_answers_at_once(hub_cache, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(WeightsUnavailable, match="models import"):
        hub.download(MODEL, endpoint="http://127.0.0.1:9")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(WeightsUnavailable, match="cannot be reached"):  # nothing listens on port 9
        hub.download(MODEL, endpoint="http://127.0.0.1:9")
    assert time.monotonic() - started < 2.0


def test_import_puts_a_local_file_where_open_clip_looks(tmp_path: Path, hub_cache) -> None:
    content = safetensors_bytes(tmp_path, 40_000)
    source = tmp_path / "copied-from-a-usb-stick.safetensors"
    source.write_bytes(content)
    with pytest.raises(WeightsUnavailable, match="not the expected"):
        hub.import_file(source, MODEL, sha256="0" * 64)
    assert hub.cached_file(MODEL) is None
    path = hub.import_file(source, MODEL, sha256=hashlib.sha256(content).hexdigest())
    assert path.name == "open_clip_model.safetensors" and path.read_bytes() == content
    assert hub.cached_file(MODEL) == path
    assert source.read_bytes() == content  # the original is left alone
    junk = tmp_path / "notes.bin"
    junk.write_text("not weights at all")
    with pytest.raises(WeightsUnavailable, match="not a weights file"):
        hub.import_file(junk, MODEL)


def test_cli_download_available_and_import(fake_hub, hub_cache: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from engine.cli import main

    monkeypatch.setenv("HF_ENDPOINT", fake_hub.endpoint)
    assert main(["models", "download", "ViT-B-32"]) == 0
    out = capsys.readouterr().out
    path = out.strip().split(": ", 1)[1]
    assert Path(path).read_bytes() == fake_hub.content
    assert hub.cached_weights("ViT-B-32", "datacomp_xl_s13b_b90k") == path  # what `index` will load
    assert main(["models", "available", "--json"]) == 0
    import json

    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["ViT-B-32/datacomp_xl_s13b_b90k"]["cached"] == path and rows["ViT-B-32/datacomp_xl_s13b_b90k"]["recommended"]
    assert rows["ViT-B-32/openai"]["cached"] is None
    source = tmp_path / "b16.safetensors"
    source.write_bytes(safetensors_bytes(tmp_path, 8_000))
    assert main(["models", "import", str(source), "--as", "ViT-B-16/datacomp_xl_s13b_b90k"]) == 0
    capsys.readouterr()
    assert hub.cached_weights("ViT-B-16", "datacomp_xl_s13b_b90k") is not None
    assert main(["models", "download", "no-such-model"]) == 1
    assert "unknown model" in capsys.readouterr().err


def test_the_default_model_is_one_model_everywhere(fake_hub, monkeypatch, capsys) -> None:
    """What `bitlens models download` fetches with no name is what `bitlens index` loads with no --backbone."""
    from engine.cli import main
    from engine.models.backbones import BackboneSpec

    monkeypatch.setenv("HF_ENDPOINT", fake_hub.endpoint)
    assert main(["models", "download"]) == 0
    path = capsys.readouterr().out.strip().split(": ", 1)[1]
    spec = BackboneSpec.from_args(None)
    assert hub.resolve_pretrained(spec.arch, spec.pretrained) == path  # found in the cache: nothing more is fetched
    assert fake_hub.ranges == [None]  # the one download


def test_a_backbone_downloads_its_weights_through_the_hub_module(fake_hub, hub_cache: Path, monkeypatch) -> None:
    """`index` on a fresh computer fetches the weights the same way as `models download`: resumable, checked, into the shared cache."""
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.endpoint)
    fake_hub.break_after = 100_000
    with pytest.raises(WeightsUnavailable, match="resume"):
        hub.resolve_pretrained(*hub.RECOMMENDED)
    path = hub.resolve_pretrained(*hub.RECOMMENDED)
    assert fake_hub.ranges == [None, "bytes=100000-"]  # the second try went on where the first stopped
    assert Path(path).read_bytes() == fake_hub.content and Path(path).is_relative_to(hub_cache)


def test_the_recommended_model_needs_no_torch_and_matches_open_clip(hub_cache, monkeypatch) -> None:
    import subprocess
    import sys

    from conftest import REPO

    assert hub.resolve_model("ViT-B-32") == hub.model_for(*hub.RECOMMENDED)  # the shortcut says what open_clip says
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = "import sys\nfrom engine.cli import main\ncode = main(['models', 'download'])\nprint(code, 'torch' in sys.modules)"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["1", "False"] and "offline" in done.stderr
    assert time.monotonic() - started < 5.0  # an answer at once, not a network timeout


class ConnectProxy:
    """A tiny HTTPS proxy on 127.0.0.1: records each CONNECT request line and answers it, connecting nowhere."""

    def __init__(self, answer: bytes = b"HTTP/1.1 200 Connection established\r\n\r\n", most: int = 8) -> None:
        import socket

        self.answer, self.requests = answer, []
        self.stopped = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)  # wakes up often enough to notice close()
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, args=(most,), daemon=True)
        self.thread.start()

    def _serve(self, most: int) -> None:
        served, deadline = 0, time.monotonic() + 60  # bounded: a test makes a few checks
        while served < most and not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                client, _address = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            served += 1
            with client:
                client.settimeout(5)
                request = b""
                try:
                    while b"\r\n\r\n" not in request and len(request) < 8192:
                        chunk = client.recv(1024)
                        if not chunk:
                            break
                        request += chunk
                except OSError:
                    pass
                self.requests.append(request.split(b"\r\n", 1)[0].decode("latin-1"))
                try:
                    client.sendall(self.answer)
                except OSError:
                    pass

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.server.close()


@pytest.fixture
def behind_proxy(monkeypatch):
    """HTTPS_PROXY set to a local proxy, and a hub whose name resolves nowhere: only the proxy can answer."""
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.bitlens-test.invalid")
    proxies = []

    def start(**options) -> ConnectProxy:
        proxy = ConnectProxy(**options)
        proxies.append(proxy)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        return proxy

    yield start
    for proxy in proxies:
        proxy.close()


def test_reachability_checks_go_through_the_https_proxy(behind_proxy) -> None:
    proxy = behind_proxy()
    # the first-run dialog's check and the download's check both ask the proxy for the hub
    assert hub.reachable() is True
    hub.check_online(hub.endpoint_url())
    assert proxy.requests == ["CONNECT hub.bitlens-test.invalid:443 HTTP/1.1"] * 2


def test_a_proxy_that_refuses_means_offline(behind_proxy, monkeypatch) -> None:
    proxy = behind_proxy(answer=b"HTTP/1.1 403 Forbidden\r\n\r\n")
    assert hub.reachable() is False
    with pytest.raises(WeightsUnavailable, match="403 Forbidden"):
        hub.check_online(hub.endpoint_url())
    assert len(proxy.requests) == 2
    # NO_PROXY names the hub: the proxy is not asked, and the unresolvable hub is not reachable directly
    monkeypatch.setenv("NO_PROXY", "bitlens-test.invalid")
    assert hub.reachable(timeout=1) is False
    assert len(proxy.requests) == 2


@pytest.mark.parametrize("switch", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_the_offline_switch_is_honoured_without_asking_the_network(behind_proxy, monkeypatch, switch) -> None:
    proxy = behind_proxy()
    monkeypatch.setenv(switch, "1")
    assert hub.reachable() is False
    with pytest.raises(WeightsUnavailable, match="offline mode is on"):
        hub.check_online()
    assert proxy.requests == []  # decided before any connection
    monkeypatch.setenv(switch, "0")
    assert hub.reachable() is True


def test_the_first_run_check_finds_the_default_weights_without_torch(tmp_path: Path, hub_cache) -> None:
    """The window asks for a model as soon as it has read the library: the lookup loads no torch (seconds)."""
    import subprocess
    import sys

    from conftest import REPO
    from engine.models.catalog import DEFAULT_NAME

    code = "import sys\nfrom engine.facade import default_weights_cached\nprint(default_weights_cached(), 'torch' in sys.modules)"
    before = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    assert before.stdout.split() == ["False", "False"]
    content = safetensors_bytes(tmp_path, 20_000)
    source = tmp_path / "default.safetensors"
    source.write_bytes(content)
    hub.import_file(source, hub.resolve_model(DEFAULT_NAME), sha256=hashlib.sha256(content).hexdigest())
    after = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    assert after.stdout.split() == ["True", "False"]

"""The Hugging Face hub in one place: where it is, whether it can be reached, the cache, the download.

Everything that asks the network or the hub cache for open_clip weights goes through here:

- the endpoint (HF_ENDPOINT) and the offline switch (HF_HUB_OFFLINE, or TRANSFORMERS_OFFLINE,
  as huggingface_hub reads them), both read at call time;
- reachability asked the way the download goes: through HTTPS_PROXY / https_proxy (NO_PROXY
  honoured) when one is set, so "offline" means the download would fail too;
- the cache folder (`$HF_HUB_CACHE/models--ORG--NAME/{blobs,snapshots,refs}`), the layout
  Hugging Face tools use, so open_clip, `huggingface_hub` and BitLens share one copy;
- one download, used by `bitlens models download`, the app's dialogs and a backbone that
  needs weights: progress and cancel, a partial file (`blobs/SHA256.incomplete`, the name
  huggingface_hub uses too) resumed with an HTTP Range request, and the whole file checked
  against the sha256 the hub publishes (its LFS ETag) before it is moved into place;
- importing a local weights file into that cache.

Qt-free; open_clip (and so torch) is imported only to look up model names, and not at all
for the default model.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urljoin, urlparse

from ..jobs import Cancelled, CancelToken, ProgressCallback, Reporter
from .catalog import DEFAULT_ARCH, DEFAULT_PRETRAINED, DEFAULT_TAGS
from .weights import WeightsUnavailable, sha256_file, weights_format

CHUNK = 1 << 18  # 256 KiB: cancel and progress react within a fraction of a second
HEX64 = re.compile(r"^[0-9a-f]{64}$")
RECOMMENDED = (DEFAULT_ARCH, DEFAULT_PRETRAINED)
# Where open_clip publishes the recommended weights (a test checks this against open_clip), so
# that `bitlens models download` can find the cache or say "offline" without importing torch.
RECOMMENDED_REPO = ("laion/CLIP-ViT-B-32-DataComp.XL-s13B-b90K", ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"))
REACH_TIMEOUT = 3.0  # seconds a reachability check may take before it says "offline"


# -- where, whether, and the cache folder -------------------------------------------------------


def endpoint_url() -> str:
    """The hub's base URL (HF_ENDPOINT, else huggingface.co)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def offline() -> bool:
    """Whether the user switched the hub off (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE, as huggingface_hub reads them)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in {"1", "true", "yes", "on"}


def cache_folder() -> Path:
    """The Hugging Face hub cache, from the environment at call time (the same rules as huggingface_hub)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(os.path.expandvars(os.path.expanduser(explicit)))
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return Path(os.path.expandvars(os.path.expanduser(home))) / "hub"


def open_route(url: str, timeout: float = REACH_TIMEOUT) -> None:
    """Reach `url`'s host the way a download would, or raise OSError saying why not.

    Behind a proxy (HTTPS_PROXY / https_proxy for https, HTTP_PROXY for http, NO_PROXY
    honoured, as urllib reads them) the proxy is asked to CONNECT to the host, so the answer
    means the host is reachable through it; without one, a TCP connect to the host itself.
    """
    parsed = urlparse(url)
    scheme = parsed.scheme or "https"
    host, port = parsed.hostname or "huggingface.co", parsed.port or (80 if scheme == "http" else 443)
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        socket.create_connection((host, port), timeout=timeout).close()
        return
    via = urlparse(proxy if "://" in proxy else f"http://{proxy}")
    request = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if via.username:
        import base64
        from urllib.parse import unquote

        login = base64.b64encode(f"{unquote(via.username)}:{unquote(via.password or '')}".encode()).decode()
        request += f"Proxy-Authorization: Basic {login}\r\n"
    with socket.create_connection((via.hostname or "", via.port or (443 if via.scheme == "https" else 80)), timeout=timeout) as raw:
        connection = raw
        if via.scheme == "https":
            import ssl

            connection = ssl.create_default_context().wrap_socket(raw, server_hostname=via.hostname)
        connection.sendall((request + "\r\n").encode("ascii"))
        answer = b""
        while b"\r\n" not in answer and len(answer) < 4096:
            chunk = connection.recv(1024)
            if not chunk:
                break
            answer += chunk
    status = answer.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or parts[1] != "200":
        raise OSError(f"the proxy {via.hostname}:{via.port} would not connect to {host}: {status or 'no answer'}")


def check_online(url: Optional[str] = None, timeout: float = REACH_TIMEOUT) -> None:
    """Raise WeightsUnavailable at once, saying why, when downloading from the hub cannot work now."""
    if offline():
        raise WeightsUnavailable(
            "offline mode is on (HF_HUB_OFFLINE), so nothing can be downloaded. Unset it when online, "
            "or copy the weights file from another computer and run `bitlens models import FILE --as NAME`."
        )
    url = url or endpoint_url()
    try:
        open_route(url, timeout)  # through HTTPS_PROXY when one is set, as the download itself goes
    except OSError as error:
        host = urlparse(url).hostname or url
        raise WeightsUnavailable(
            f"{host} cannot be reached ({error.strerror or error}), so the model cannot be downloaded now. "
            "Connect and try again (a partial download resumes), or copy the weights file from another computer "
            "and run `bitlens models import FILE --as NAME`."
        ) from None


def reachable(timeout: float = REACH_TIMEOUT) -> bool:
    """Whether the hub can be downloaded from now: the same check as a download's, as yes or no."""
    try:
        check_online(timeout=timeout)
    except WeightsUnavailable:
        return False
    return True


# -- which file a model is ----------------------------------------------------------------------


@dataclass(frozen=True)
class HubModel:
    """An open_clip pretrained entry that lives on the Hugging Face hub."""

    arch: str
    tag: str
    repo_id: str
    filenames: tuple[str, ...]  # the names open_clip tries, preferred first

    @property
    def name(self) -> str:
        return f"{self.arch}/{self.tag}"

    @property
    def recommended(self) -> bool:
        return (self.arch, self.tag) == RECOMMENDED

    def repo_folder(self, cache_dir: Optional[Path] = None) -> Path:
        return (cache_dir or cache_folder()) / ("models--" + self.repo_id.replace("/", "--"))


def hf_location(cfg: dict) -> tuple[str, list[str]] | None:
    """The (repo id, candidate file names) of an open_clip pretrained entry on the hub."""
    where = cfg.get("hf_hub", "")
    if not where:
        return None
    repo_id, filename = os.path.split(where)
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    filename = filename or HF_WEIGHTS_NAME
    candidates = [filename]
    if filename == HF_WEIGHTS_NAME:
        candidates.insert(0, HF_SAFE_WEIGHTS_NAME)
    elif filename.endswith((".bin", ".pth")):
        candidates.insert(0, filename[:-4] + ".safetensors")
    return repo_id, candidates


def model_for(arch: str, tag: str) -> Optional[HubModel]:
    """The hub files of open_clip's pretrained (arch, tag), or None when open_clip has them elsewhere."""
    import open_clip

    location = hf_location(open_clip.get_pretrained_cfg(arch, tag))
    if location is None:
        return None
    repo_id, filenames = location
    return HubModel(arch, tag, repo_id, tuple(filenames))


def available_models() -> list[HubModel]:
    """Every hub-hosted open_clip pretrained model, the recommended one first."""
    import open_clip

    models = [m for m in (model_for(arch, tag) for arch, tag in open_clip.list_pretrained()) if m is not None]
    return sorted(models, key=lambda m: (not m.recommended, m.arch, m.tag))


def resolve_model(name: str) -> HubModel:
    """'ARCH/TAG' or 'ARCH:TAG' (or just 'ARCH': the tag the app offers it with, else its first) → a HubModel."""
    arch, _, tag = name.replace(":", "/").partition("/")
    if arch == RECOMMENDED[0] and tag in ("", RECOMMENDED[1]):
        return HubModel(*RECOMMENDED, *RECOMMENDED_REPO)
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(arch)
    if not tags:
        raise WeightsUnavailable(f"unknown model '{name}': `bitlens models available` lists the names")
    if not tag:
        tag = DEFAULT_TAGS.get(arch) or tags[0]
    if tag not in tags:
        raise WeightsUnavailable(f"{arch} has no pretrained weights '{tag}' (known: {', '.join(tags)})")
    model = model_for(arch, tag)
    if model is None:
        raise WeightsUnavailable(f"{arch}/{tag} is not hosted on the Hugging Face hub: download it yourself and pass --weights FILE")
    return model


def cached_file(model: HubModel, cache_dir: Optional[Path] = None) -> Optional[Path]:
    """The cached weights of `model` (any of its file names), or None."""
    from huggingface_hub import try_to_load_from_cache

    for filename in model.filenames:
        found = try_to_load_from_cache(model.repo_id, filename, cache_dir=str(cache_dir or cache_folder()))
        if isinstance(found, str) and os.path.isfile(found):
            return Path(found)
    return None


def cached_weights(arch: str, tag: str) -> str | None:
    """The local path of already-downloaded weights for open_clip's (arch, tag), or None."""
    model = model_for(arch, tag)
    if model is not None:
        found = cached_file(model)  # the cache folder is read at call time, as `bitlens models download` writes
        if found is not None:
            return str(found)
    import open_clip

    url = open_clip.get_pretrained_cfg(arch, tag).get("url", "")
    if url:  # where older open_clip versions kept OpenAI's weights
        local = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
        if local.exists():
            return str(local)
    return None


# -- the cache layout ---------------------------------------------------------------------------


def _place(model: HubModel, blob: Path, commit: str, filename: str, cache_dir: Optional[Path]) -> Path:
    """Link a finished blob into snapshots/COMMIT/FILENAME and point refs/main at COMMIT."""
    repo = model.repo_folder(cache_dir)
    snapshot = repo / "snapshots" / commit / filename
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    if snapshot.is_symlink() or snapshot.exists():
        snapshot.unlink()
    try:
        snapshot.symlink_to(os.path.relpath(blob, snapshot.parent))
    except OSError:  # no symlinks (Windows without developer mode): huggingface_hub copies too
        shutil.copyfile(blob, snapshot)
    refs = repo / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    (refs / "main").write_text(commit)
    return snapshot


# -- downloading ---------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102 - urllib hook
        return None  # the hub's own headers are on the redirect itself


@dataclass(frozen=True)
class _Remote:
    url: str  # where the bytes are (after the hub's redirect)
    commit: str
    etag: str  # the sha256 for LFS files
    size: Optional[int]


def _auth_headers() -> dict[str, str]:
    token = os.environ.get("HF_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _probe(url: str, timeout: float) -> Optional[_Remote]:
    """HEAD the hub's resolve URL; None when the file is not there (404)."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "bitlens", "Accept-Encoding": "identity", **_auth_headers()})
    try:
        response = opener.open(request, timeout=timeout)
        headers, location = response.headers, url
    except urllib.error.HTTPError as error:
        if error.code in (301, 302, 303, 307, 308):
            headers, location = error.headers, urljoin(url, error.headers.get("Location", url))
        elif error.code == 404:
            return None
        elif error.code in (401, 403):
            raise WeightsUnavailable(f"the hub refused {url} ({error.code}): the model may need a login (set HF_TOKEN)") from error
        else:
            raise WeightsUnavailable(f"the hub answered {error.code} for {url}") from error
    except OSError as error:  # the connection dropped or timed out between the check and the request
        raise WeightsUnavailable(f"the hub did not answer ({getattr(error, 'reason', error)}); try again, a partial download resumes") from error
    etag = (headers.get("X-Linked-Etag") or headers.get("ETag") or "").strip().strip('"')
    if etag.startswith("W/"):
        etag = etag[2:].strip('"')
    commit = (headers.get("X-Repo-Commit") or "").strip()
    size = headers.get("X-Linked-Size") or headers.get("Content-Length")
    if not etag or not commit:
        raise WeightsUnavailable(f"{url} did not say which file version it serves (no ETag / X-Repo-Commit)")
    return _Remote(location, commit, etag, int(size) if size else None)


def _fetch(remote: _Remote, partial: Path, report: Reporter, cancel: CancelToken, timeout: float) -> str:
    """Append the missing bytes of `remote` to `partial` (Range), returning the whole file's sha256."""
    digest = hashlib.sha256()
    have = 0
    if partial.exists():
        with open(partial, "rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
                have += len(block)
    if remote.size is not None and have > remote.size:
        partial.unlink()
        digest, have = hashlib.sha256(), 0
    headers = {"User-Agent": "bitlens", "Accept-Encoding": "identity"}
    if urlparse(remote.url).hostname == urlparse(endpoint_url()).hostname:
        headers.update(_auth_headers())
    if have and (remote.size is None or have < remote.size):
        headers["Range"] = f"bytes={have}-"
    if remote.size is not None and have == remote.size:
        return digest.hexdigest()
    if remote.size is not None:
        free = shutil.disk_usage(partial.parent).free
        if free < remote.size - have:
            raise WeightsUnavailable(f"not enough disk space in {partial.parent}: {(remote.size - have) / 1e6:,.0f} MB needed, {free / 1e6:,.0f} MB free")
    try:
        response = urllib.request.urlopen(urllib.request.Request(remote.url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # our partial file is already whole, or the server forgot it
            partial.unlink()
        raise WeightsUnavailable(f"the download failed: HTTP {error.code}") from error
    except OSError as error:
        raise WeightsUnavailable(f"the download failed: {error}") from error
    with response:
        if have and response.status != 206:  # the server ignored Range: start again
            digest, have = hashlib.sha256(), 0
            mode = "wb"
        else:
            mode = "ab"
        report("download", have, remote.size, "resuming" if have else "", force=True)
        with open(partial, mode) as out:
            try:
                while block := response.read(CHUNK):
                    out.write(block)
                    digest.update(block)
                    have += len(block)
                    report("download", have, remote.size)
                    if cancel.cancelled:
                        raise Cancelled()
            except (OSError, ValueError) as error:  # a dropped connection: keep what arrived
                raise WeightsUnavailable(f"the connection broke after {have / 1e6:,.1f} MB; run the download again to resume ({error})") from error
    if remote.size is not None and have != remote.size:
        raise WeightsUnavailable(f"the connection broke after {have / 1e6:,.1f} of {remote.size / 1e6:,.1f} MB; run the download again to resume")
    return digest.hexdigest()


def download(
    model: HubModel,
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    endpoint: Optional[str] = None,
    cache_dir: Optional[Path] = None,
    timeout: float = 30.0,
) -> Path:
    """Download `model`'s weights into the hub cache (or find them there); returns the cached file."""
    found = cached_file(model, cache_dir)
    if found is not None:
        return found
    endpoint = (endpoint or endpoint_url()).rstrip("/")
    check_online(endpoint)
    cancel = cancel or CancelToken()
    report = Reporter(progress)
    for filename in model.filenames:  # the names open_clip tries, in its order
        remote = _probe(f"{endpoint}/{model.repo_id}/resolve/main/{filename}", timeout)
        if remote is None:
            continue
        blobs = model.repo_folder(cache_dir) / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        blob = blobs / remote.etag
        if not blob.exists():
            partial = blobs / (remote.etag + ".incomplete")
            got = _fetch(remote, partial, report, cancel, timeout)
            if HEX64.match(remote.etag) and got != remote.etag:
                partial.unlink(missing_ok=True)
                raise WeightsUnavailable(f"the downloaded file is damaged (sha256 {got[:12]}…, the hub says {remote.etag[:12]}…); it was deleted, try again")
            os.replace(partial, blob)
        report("download", remote.size or blob.stat().st_size, remote.size or blob.stat().st_size, "verified", force=True)
        return _place(model, blob, remote.commit, filename, cache_dir)
    raise WeightsUnavailable(f"the hub has none of {', '.join(model.filenames)} for {model.repo_id}")


def terminal_progress(label: str) -> tuple[Optional[ProgressCallback], Callable[[], None]]:
    """A download's progress bar on stderr when it is a terminal: (the progress callback, close); (None, a no-op) otherwise."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(desc=label, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, dynamic_ncols=True)

    def show(event) -> None:
        if event.total and bar.total != event.total:
            bar.total = event.total
        bar.n = event.done
        bar.refresh()

    return show, bar.close


def resolve_pretrained(arch: str, tag: str) -> str:
    """A local file holding open_clip's pretrained (arch, tag) weights, downloaded into the cache first if needed.

    Offline with nothing cached, it says so within seconds and how to get the weights,
    instead of a minute of network retries.
    """
    import open_clip

    if not open_clip.get_pretrained_cfg(arch, tag):
        known = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
        raise WeightsUnavailable(f"open_clip has no pretrained weights '{tag}' for {arch} (known tags: {known})")
    local = cached_weights(arch, tag)
    if local:
        return local
    model = model_for(arch, tag)
    if model is None:
        raise WeightsUnavailable(f"the weights of {arch} ({tag}) are not on the Hugging Face hub: download them yourself and pass --weights FILE")
    if not reachable():
        raise WeightsUnavailable(
            f"the weights of {arch} ({tag}) are not downloaded yet and the internet cannot be reached. "
            "Connect once and run the command again to download them (they are cached for later), "
            "or pass --weights FILE with a local copy, or use --backbone tiny for an untrained offline model."
        )
    print(f"Downloading the weights of {arch} ({tag}); this happens once.", file=sys.stderr, flush=True)
    show, close = terminal_progress(model.name)
    try:
        return str(download(model, progress=show))
    finally:
        close()


# -- importing a local file ---------------------------------------------------------------------


def synthetic_commit(sha256: str) -> str:
    """A stable 40-hex snapshot name for an imported file when the cache has no commit yet."""
    return hashlib.sha1(f"bitlens-import:{sha256}".encode()).hexdigest()


def import_file(path: str | os.PathLike[str], model: HubModel, *, sha256: Optional[str] = None, cache_dir: Optional[Path] = None) -> Path:
    """Copy a local weights file into the hub cache as `model`'s weights; returns the cached file."""
    source = Path(path).expanduser()
    if not source.is_file():
        raise WeightsUnavailable(f"no such file: {source}")
    kind = weights_format(source)
    digest = sha256_file(source)
    if sha256 and digest != sha256.strip().lower():
        raise WeightsUnavailable(f"{source.name} has sha256 {digest}, not the expected {sha256}")
    if kind == "safetensors":
        names = [n for n in model.filenames if n.endswith(".safetensors")]
    else:
        names = [n for n in model.filenames if not n.endswith(".safetensors")]
    if not names:
        raise WeightsUnavailable(f"{model.name} is published as {', '.join(model.filenames)}; this file is a {kind} file")
    repo = model.repo_folder(cache_dir)
    blobs = repo / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    blob = blobs / digest
    if not blob.exists():
        temporary = blobs / (digest + ".importing")
        shutil.copyfile(source, temporary)
        os.replace(temporary, blob)
    main = repo / "refs" / "main"
    commit = main.read_text().strip() if main.is_file() else ""
    if not commit or not (repo / "snapshots" / commit).is_dir():
        commit = synthetic_commit(digest)
    return _place(model, blob, commit, names[0], cache_dir)

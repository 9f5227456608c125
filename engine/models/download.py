"""The weights manager: list, download and import open_clip weights into the shared hub cache.

Files land exactly where Hugging Face tools look for them
(`$HF_HUB_CACHE/models--ORG--NAME/{blobs,snapshots,refs}`), so open_clip,
`huggingface_hub` and BitLens share one copy. A download:

- answers at once when offline (HF_HUB_OFFLINE, or the hub does not accept a
  connection within a few seconds);
- resumes a partial file (`blobs/SHA256.incomplete`, the name huggingface_hub
  uses too) with an HTTP Range request;
- is checked against the sha256 the hub publishes for the file (its LFS ETag)
  before it is moved into place; a mismatch deletes the partial file.

Qt-free; open_clip is imported only to look up model names.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import urljoin, urlparse

from ..jobs import Cancelled, CancelToken, ProgressCallback, Reporter
from .weights import WeightsUnavailable, hf_location, open_route, sha256_file

CHUNK = 1 << 18  # 256 KiB: cancel and progress react within a fraction of a second
HEX64 = re.compile(r"^[0-9a-f]{64}$")
RECOMMENDED = ("ViT-B-32", "datacomp_xl_s13b_b90k")  # engine.models.backbones DEFAULT_ARCH / DEFAULT_PRETRAINED
# Where open_clip publishes the recommended weights (a test checks this against open_clip), so
# that `bitlens models download` can find the cache or say "offline" without importing torch.
RECOMMENDED_REPO = ("laion/CLIP-ViT-B-32-DataComp.XL-s13B-b90K", ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"))


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, from the environment at call time (the same rules as huggingface_hub)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(os.path.expandvars(os.path.expanduser(explicit)))
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return Path(os.path.expandvars(os.path.expanduser(home))) / "hub"


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def offline_by_choice() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


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
        return (cache_dir or hub_cache_dir()) / ("models--" + self.repo_id.replace("/", "--"))


def _hub_model(arch: str, tag: str) -> Optional[HubModel]:
    import open_clip

    location = hf_location(open_clip.get_pretrained_cfg(arch, tag))
    if location is None:
        return None
    repo_id, filenames = location
    return HubModel(arch, tag, repo_id, tuple(filenames))


def available_models() -> list[HubModel]:
    """Every hub-hosted open_clip pretrained model, the recommended one first."""
    import open_clip

    models = [m for m in (_hub_model(arch, tag) for arch, tag in open_clip.list_pretrained()) if m is not None]
    return sorted(models, key=lambda m: (not m.recommended, m.arch, m.tag))


def resolve_model(name: str) -> HubModel:
    """'ARCH/TAG' or 'ARCH:TAG' (or just 'ARCH': its recommended or first tag) → a HubModel."""
    arch, _, tag = name.replace(":", "/").partition("/")
    if arch == RECOMMENDED[0] and tag in ("", RECOMMENDED[1]):
        return HubModel(*RECOMMENDED, *RECOMMENDED_REPO)
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(arch)
    if not tags:
        raise WeightsUnavailable(f"unknown model '{name}': `bitlens models available` lists the names")
    if not tag:
        tag = RECOMMENDED[1] if arch == RECOMMENDED[0] else tags[0]
    if tag not in tags:
        raise WeightsUnavailable(f"{arch} has no pretrained weights '{tag}' (known: {', '.join(tags)})")
    model = _hub_model(arch, tag)
    if model is None:
        raise WeightsUnavailable(f"{arch}/{tag} is not hosted on the Hugging Face hub; open_clip downloads it itself on first use")
    return model


def cached_file(model: HubModel, cache_dir: Optional[Path] = None) -> Optional[Path]:
    """The cached weights of `model` (any of its file names), or None."""
    from huggingface_hub import try_to_load_from_cache

    for filename in model.filenames:
        found = try_to_load_from_cache(model.repo_id, filename, cache_dir=str(cache_dir or hub_cache_dir()))
        if isinstance(found, str) and os.path.isfile(found):
            return Path(found)
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
    if urlparse(remote.url).hostname == urlparse(hub_endpoint()).hostname:
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


def check_online(endpoint: str, timeout: float = 3.0) -> None:
    """Raise WeightsUnavailable at once when downloading cannot work now."""
    if offline_by_choice():
        raise WeightsUnavailable(
            "offline mode is on (HF_HUB_OFFLINE), so nothing can be downloaded. Unset it when online, "
            "or copy the weights file from another computer and run `bitlens models import FILE --as NAME`."
        )
    try:
        open_route(endpoint, timeout)  # through HTTPS_PROXY when one is set, as the download itself goes
    except OSError as error:
        host = urlparse(endpoint).hostname or endpoint
        raise WeightsUnavailable(
            f"{host} cannot be reached ({error.strerror or error}), so the model cannot be downloaded now. "
            "Connect and try again (a partial download resumes), or copy the weights file from another computer "
            "and run `bitlens models import FILE --as NAME`."
        ) from None


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
    endpoint = (endpoint or hub_endpoint()).rstrip("/")
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


# -- importing a local file ---------------------------------------------------------------------


def weights_format(path: Path) -> str:
    """'safetensors' or 'torch' by the file's first bytes; raises WeightsUnavailable otherwise."""
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) == 8:
            (length,) = struct.unpack("<Q", head)
            if 2 <= length <= 100_000_000:
                try:
                    header = json.loads(handle.read(length))
                    if isinstance(header, dict):
                        return "safetensors"
                except (ValueError, UnicodeDecodeError):
                    pass
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":  # torch.save's zip, or a legacy pickle
        return "torch"
    raise WeightsUnavailable(f"{path.name} is not a weights file (neither safetensors nor a PyTorch checkpoint)")


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

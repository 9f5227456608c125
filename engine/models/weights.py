"""Finding pretrained weights: the open_clip / Hugging Face cache, a download, or a file.

The rule that matters to a user: offline with nothing cached, say so within a second
or two and say how to get the weights, instead of a minute of network retries.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are not on this machine and cannot be fetched now."""


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def open_route(endpoint: str, timeout: float = 3.0) -> None:
    """Reach `endpoint`'s host the way a download would, or raise OSError saying why not.

    Behind a proxy (HTTPS_PROXY / https_proxy for https, HTTP_PROXY for http, NO_PROXY
    honoured, as urllib reads them) the proxy is asked to CONNECT to the host, so the answer
    means the host is reachable through it; without one, a TCP connect to the host itself.
    """
    import urllib.request

    parsed = urlparse(endpoint)
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


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub (HF_ENDPOINT) can be reached within `timeout` seconds, through the proxy if one is set."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    try:
        open_route(os.environ.get("HF_ENDPOINT", "https://huggingface.co"), timeout)
        return True
    except OSError:
        return False


def hf_location(cfg: dict) -> tuple[str, list[str]] | None:
    """The (repo id, candidate file names) of an open_clip pretrained entry on the hub."""
    hub = cfg.get("hf_hub", "")
    if not hub:
        return None
    repo_id, filename = os.path.split(hub)
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    filename = filename or HF_WEIGHTS_NAME
    candidates = [filename]
    if filename == HF_WEIGHTS_NAME:
        candidates.insert(0, HF_SAFE_WEIGHTS_NAME)
    elif filename.endswith((".bin", ".pth")):
        candidates.insert(0, filename[:-4] + ".safetensors")
    return repo_id, candidates


def cached_weights(arch: str, tag: str) -> str | None:
    """The local path of already-downloaded weights for (arch, tag), or None."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(arch, tag)
    location = hf_location(cfg)
    if location is not None:
        from huggingface_hub import try_to_load_from_cache

        from .download import hub_cache_dir  # read at call time, as `bitlens models download` writes

        repo_id, candidates = location
        for filename in candidates:
            found = try_to_load_from_cache(repo_id, filename, cache_dir=str(hub_cache_dir()))
            if isinstance(found, str) and os.path.exists(found):
                return found
    url = cfg.get("url", "")
    if url:
        local = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
        if local.exists():
            return str(local)
    return None


def resolve_pretrained(arch: str, tag: str) -> str:
    """Return a local file holding the weights of (arch, tag), downloading them if needed."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not cfg:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
        raise WeightsUnavailable(f"open_clip has no pretrained weights '{tag}' for {arch} (known tags: {known})")
    local = cached_weights(arch, tag)
    if local:
        return local
    if not hub_reachable():
        raise WeightsUnavailable(
            f"the weights of {arch} ({tag}) are not downloaded yet and the internet cannot be reached. "
            "Connect once and run the command again to download them (they are cached for later), "
            "or pass --weights FILE with a local copy, or use --backbone tiny for an untrained offline model."
        )
    print(f"Downloading the weights of {arch} ({tag}); this happens once.", file=sys.stderr, flush=True)
    try:
        return open_clip.pretrained.download_pretrained(cfg)
    except Exception as error:  # the hub raises many kinds; the user needs one sentence
        raise WeightsUnavailable(f"downloading the weights of {arch} ({tag}) failed: {error}") from error

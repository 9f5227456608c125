"""`bitlens models available|download|import`: the weights manager on the command line.

These actions need no library, so `engine.cli` runs them before opening one.
"""

from __future__ import annotations

import argparse
import json

from .catalog import DEFAULT_ARCH, DEFAULT_NAME

ACTIONS = ("available", "download", "import")


def add_parsers(model_commands) -> None:
    """Add the weights actions to the `models` sub-command's sub-parsers."""
    available = model_commands.add_parser("available", help="pretrained backbones that can be downloaded, and which are here")
    available.add_argument("--all", action="store_true", help=f"every hub-hosted open_clip model, not only the ones for {DEFAULT_ARCH} and those already here")
    available.add_argument("--json", action="store_true")
    download = model_commands.add_parser("download", help="download a backbone's weights into the shared Hugging Face cache (resumable, sha256-checked)")
    download.add_argument(
        "name", nargs="?", default=DEFAULT_NAME, help=f"ARCH/TAG as `models available` lists it (default: the recommended model, {DEFAULT_NAME})"
    )
    imported = model_commands.add_parser("import", help="copy a weights file from elsewhere into the shared cache as NAME")
    imported.add_argument("file", metavar="FILE")
    imported.add_argument("--as", dest="name", required=True, metavar="NAME", help=f"ARCH/TAG the file holds, e.g. {DEFAULT_NAME}")
    imported.add_argument("--sha256", help="refuse the file unless it has this sha256")


def run(args: argparse.Namespace) -> int:
    from . import hub

    if args.action == "available":
        models = hub.available_models()
        rows = []
        for model in models:
            cached = hub.cached_file(model)
            if args.all or model.arch == hub.RECOMMENDED[0] or cached is not None:
                rows.append({"name": model.name, "repo": model.repo_id, "recommended": model.recommended, "cached": str(cached) if cached else None})
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        for row in rows:
            mark = "here" if row["cached"] else "    "
            print(f"{mark}  {row['name']}" + ("  (recommended)" if row["recommended"] else ""))
        if not args.all:
            print(f"({len(models)} in all: --all lists every one; `bitlens models download NAME` fetches one)")
        print(f"cache: {hub.cache_folder()}")
        return 0
    model = hub.resolve_model(args.name)
    if args.action == "download":
        show, close = hub.terminal_progress(model.name)
        try:
            path = hub.download(model, progress=show)
        finally:
            close()
        print(f"{model.name}: {path}")
        return 0
    path = hub.import_file(args.file, model, sha256=args.sha256)
    print(f"imported as {model.name}: {path}")
    return 0

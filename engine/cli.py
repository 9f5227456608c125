"""The `bitlens` command line: index folders, search, inspect the library."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from . import __version__
from .jobs import Cancelled, CancelToken, ProgressEvent


def _progress_printer(enabled: bool):
    """A progress callback that draws a tqdm bar per stage on a terminal, else nothing."""
    if not enabled:
        return None
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def show(event: ProgressEvent) -> None:
        bar = bars.get(event.stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[event.stage] = tqdm(total=event.total, desc=event.stage, unit="photo", file=sys.stderr, leave=True, dynamic_ncols=True)
        if event.total is not None and bar.total != event.total:
            bar.total = event.total
        bar.n = event.done
        bar.set_postfix_str(event.message[-40:], refresh=False)
        bar.refresh()

    show.close = lambda: [bar.close() for bar in bars.values()]  # type: ignore[attr-defined]
    return show


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bitlens", description="Search your photo folders by text or by example image.")
    parser.add_argument("--library", metavar="DIR", help="library folder (default: $BITLENS_HOME, else the user data folder)")
    parser.add_argument("--version", action="version", version=f"bitlens {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = commands.add_parser("index", help="add photo folders and index them (new and changed photos only)")
    index.add_argument("folders", nargs="*", metavar="FOLDER", help="photo folders to add; none = re-index the library's folders")
    index.add_argument("--backbone", help="open_clip model name, 'tiny' (random weights, offline), or a model-config .json (default ViT-B-32)")
    index.add_argument("--pretrained", help="open_clip pretrained tag (default for ViT-B-32: datacomp_xl_s13b_b90k)")
    index.add_argument("--weights", metavar="FILE", help="local weights file for the backbone")
    index.add_argument("--bits", type=int, choices=(16, 32, 64, 128), help="code length for a new code model (default 64)")
    index.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    index.add_argument("--batch-size", type=int, default=32)
    index.add_argument("--json", action="store_true", help="print the scan report as JSON")

    search = commands.add_parser("search", help="rank photos by a text or image query")
    search.add_argument("text", nargs="?", help="what to look for, e.g. \"dog on the beach\"")
    search.add_argument("--image", metavar="FILE", help="find photos similar to this one")
    search.add_argument("--batch", metavar="FILE", help="one query per line (text, or @PATH for an image); JSON Lines out")
    search.add_argument("--limit", type=int, default=20, help="how many results (0 = the whole ranking)")
    search.add_argument("--folder", help="only photos below this folder")
    search.add_argument("--tag", action="append", default=[], metavar="TAG", help="only photos with this tag (repeat: all of them)")
    search.add_argument("--after", metavar="DATE", help="only photos taken on or after YYYY[-MM[-DD]] (file time if no date taken)")
    search.add_argument("--before", metavar="DATE", help="only photos taken before YYYY[-MM[-DD]]")
    search.add_argument("--type", action="append", default=[], metavar="TYPE", help="only these file types, e.g. jpg, png (repeat or comma-separate)")
    search.add_argument("--radius", nargs="?", const="auto", metavar="BITS", help="only photos within this Hamming distance ('auto' or no value: the default for the code length)")
    search.add_argument("--sort", choices=("distance", "date", "date-asc"), default="distance", help="order of the results (date: newest first)")
    search.add_argument("--json", action="store_true", help="print JSON: a list of {rank, path, distance}")
    search.add_argument("--device", default="auto")

    duplicates = commands.add_parser("duplicates", help="groups of near-duplicate photos (nothing is deleted)")
    duplicates.add_argument("--radius", type=int, metavar="BITS", help="most bits two duplicates' codes may differ in (default: 1/8 of the code length)")
    duplicates.add_argument("--min-similarity", type=float, default=0.9, metavar="COS", help="also need this cosine of the photos' embeddings (0: codes only; default 0.9)")
    duplicates.add_argument("--folder", help="only photos below this folder")
    duplicates.add_argument("--all", action="store_true", help="include photos forgotten in an earlier review")
    duplicates.add_argument("--json", action="store_true", help="print JSON: a list of {max_distance, photos: [{path, size, width, height, date}]}")

    suggest = commands.add_parser("suggest", help="suggest your own tags for photos (accept or reject them)")
    suggest.add_argument("paths", nargs="*", metavar="PHOTO", help="library photos (default with --untagged: every photo without tags)")
    suggest.add_argument("--untagged", action="store_true", help="suggest for every photo that has no tag")
    suggest.add_argument("--limit", type=int, default=5, help="suggestions per photo")
    suggest.add_argument("--min-confidence", type=float, default=0.2, metavar="P", help="leave out suggestions below this estimated precision")
    suggest.add_argument("--text", action="store_true", help="also profile rare tags by their text code (loads the backbone)")
    suggest.add_argument("--accept", metavar="TAG", help="give the (one) photo this tag as your own")
    suggest.add_argument("--reject", metavar="TAG", help="never suggest this tag for the (one) photo again")
    suggest.add_argument("--json", action="store_true")

    watch = commands.add_parser("watch", help="index new, changed, moved and deleted photos as they happen (Ctrl-C stops)")
    watch.add_argument("--debounce", type=float, default=2.0, metavar="S", help="wait for this many quiet seconds before indexing a batch")
    watch.add_argument("--poll", type=float, default=300.0, metavar="S", help="rescan interval when folders cannot be watched live")
    watch.add_argument("--device", default="auto")

    show = commands.add_parser("show", help="what the library knows of one photo")
    show.add_argument("path")
    show.add_argument("--json", action="store_true")

    train = commands.add_parser("train", help="train the hashing network on the library's tags (the active model stays until --activate)")
    train.add_argument("--bits", type=int, choices=(16, 32, 64, 128), default=64)
    train.add_argument("--epochs", type=int, help="training epochs (default: from the config)")
    train.add_argument("--effort", default="head", choices=("head",), help="head: the hashing network on cached backbone features")
    train.add_argument("--config", help="hashing config JSON (default: the built-in one)")
    train.add_argument("--database-codes", choices=("image", "fused"), help="code library photos from pixels only, or from pixels and their tags")
    train.add_argument("--resume", action="store_true", help="continue an interrupted training run")
    train.add_argument("--activate", action="store_true", help="re-hash the library with the new model and switch to it")
    train.add_argument("--device", default="auto")
    train.add_argument("--json", action="store_true")

    models = commands.add_parser("models", help="list, activate or remove code models")
    model_commands = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    model_list = model_commands.add_parser("list")
    model_list.add_argument("--json", action="store_true")
    model_commands.add_parser("activate").add_argument("id", type=int)
    model_commands.add_parser("remove").add_argument("id", type=int)
    model_commands.add_parser("choices", help="the backbones BitLens offers (e.g. a multilingual one)").add_argument("--json", action="store_true")

    evaluate = commands.add_parser("eval", help="retrieval quality on a benchmark folder (the scenes format)")
    evaluate.add_argument("--benchmark", required=True, metavar="DIR", help="a folder with ground_truth.json (e.g. ../shared/benchmark/scenes-s0)")
    evaluate.add_argument("--bits", type=int, nargs="+", choices=(16, 32, 64, 128), default=[64])
    evaluate.add_argument("--epochs", type=int)
    evaluate.add_argument("--backbone", help="backbone for the benchmark library (default: the stand-in CLIP beside the benchmark)")
    evaluate.add_argument("--weights", metavar="FILE")
    evaluate.add_argument("--work", metavar="DIR", help="where the benchmark library is built (default: a temporary folder)")
    evaluate.add_argument("--out", metavar="DIR", default=".", help="where results.json and the PR curve PNG are written")
    evaluate.add_argument("--ablation", action="store_true", help="also train with each seed component switched (slow)")
    evaluate.add_argument("--json", action="store_true")

    status = commands.add_parser("status", help="photos, missing, errors, tags, models")
    status.add_argument("--json", action="store_true")

    folders = commands.add_parser("folders", help="list, add or remove library folders (remove never deletes files)")
    folder_commands = folders.add_subparsers(dest="action", required=True, metavar="ACTION")
    folder_list = folder_commands.add_parser("list")
    folder_list.add_argument("--json", action="store_true")
    folder_commands.add_parser("add").add_argument("paths", nargs="+")
    folder_commands.add_parser("remove").add_argument("paths", nargs="+")
    return parser


def _print_report(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        return
    print(f"Indexed: {report.summary()}")
    for note in report.notes:
        print(f"note: {note}")
    if report.problems:
        print(f"{len(report.problems)} file(s) need attention:")
        for path, reason in report.problems:
            print(f"  {path}: {reason}")


def _cmd_index(library, args) -> int:
    from .models.backbones import BackboneSpec

    spec = None
    if args.backbone or args.pretrained or args.weights:
        spec = BackboneSpec.from_args(args.backbone, args.pretrained, args.weights)
    if not args.folders and not library.folders():
        raise UserError("no folders yet: give one, e.g. `bitlens index ~/Pictures`")
    progress = _progress_printer(sys.stderr.isatty())
    try:
        report = library.index(args.folders, backbone=spec, bits=args.bits, device=args.device, progress=progress, cancel=CancelToken(), batch_size=args.batch_size)
    finally:
        if progress is not None:
            progress.close()
    _print_report(report, args.json)
    return 0


def _results(searcher, args, text: Optional[str], image: Optional[str]) -> list[dict]:
    from .search.cutoff import parse_radius
    from .search.filters import Filters

    filters = Filters(tags=tuple(args.tag), after=args.after, before=args.before,
                      types=tuple(t for value in args.type for t in value.split(",") if t.strip()))
    try:
        radius = None if args.radius is None else parse_radius(args.radius, searcher.bits)
    except ValueError as error:
        raise UserError(str(error)) from error
    results = searcher.search(text=text, image=image, limit=args.limit, folder=args.folder, filters=filters, radius=radius, sort=args.sort)
    return [r.as_dict() for r in results]


def _cmd_search(library, args) -> int:
    if args.batch:
        searcher = library.searcher(device=args.device)
        with open(args.batch, encoding="utf-8") as handle:
            for line in handle:
                query = line.rstrip("\n")
                if not query.strip():
                    continue
                image = query[1:] if query.startswith("@") else None
                text = None if image else query
                print(json.dumps({"query": query, "results": _results(searcher, args, text, image)}, ensure_ascii=False), flush=True)
        return 0
    if not args.text and not args.image:
        raise UserError("give a text query, --image FILE, or --batch FILE")
    searcher = library.searcher(device=args.device)
    results = _results(searcher, args, args.text, args.image)
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    elif not results:
        print("No photos match.")
    else:
        for r in results:
            print(f"{r['rank']:>4}  {r['distance']:>3}  {r['path']}")
    return 0


def _cmd_duplicates(library, args) -> int:
    from .search.duplicates import Review, find_duplicates

    searcher = library.searcher(device="cpu")
    try:
        groups = find_duplicates(searcher, radius=args.radius, review=None if args.all else Review(library.paths.root), folder=args.folder,
                                 min_similarity=args.min_similarity)
    except ValueError as error:
        raise UserError(str(error)) from error
    if args.json:
        print(json.dumps([g.as_dict() for g in groups], indent=2, ensure_ascii=False))
    elif not groups:
        print("No near-duplicates found.")
    for number, group in enumerate(groups if not args.json else (), 1):
        print(f"group {number} (within {group.max_distance} bits):")
        for photo in group.photos:
            size = f"{photo.width}×{photo.height}" if photo.width else "?"
            print(f"  {size:>11}  {photo.size:>10,} B  {photo.path}")
    return 0


def _cmd_suggest(library, args) -> int:
    from pathlib import Path

    from .search.suggest import TagSuggester, accept_tag, reject_tag

    if args.accept or args.reject:
        if len(args.paths) != 1:
            raise UserError("--accept and --reject take exactly one photo")
        info = library.photo(args.paths[0])
        if info is None:
            raise UserError(f"not in the library: {args.paths[0]}")
        if args.accept:
            accept_tag(library, info["path"], args.accept)
            print(f"tagged {info['path']} with '{args.accept}'")
        if args.reject:
            reject_tag(library, info["path"], args.reject)
            print(f"'{args.reject}' will not be suggested for {info['path']} again")
        return 0
    suggester = TagSuggester(library.searcher(device="cpu"), use_text=args.text)
    paths = [str(Path(p).expanduser().absolute()) for p in args.paths] or (suggester.untagged_paths() if args.untagged else [])
    if not paths:
        raise UserError("give photos, or --untagged for every photo without tags")
    out = []
    for path in paths:
        try:
            out.append({"path": path, "suggestions": [s.as_dict() for s in suggester.suggest(path, args.limit, args.min_confidence)]})
        except ValueError as error:
            raise UserError(str(error)) from error
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    for entry in out:
        found = ", ".join(f"{s['tag']} ({s['confidence']:.0%})" for s in entry["suggestions"]) or "no confident suggestion"
        print(f"{entry['path']}: {found}")
    return 0


def _cmd_watch(library, args) -> int:
    import queue
    import time

    from .library.watch import FolderWatcher, library_folders_of

    folders = [f.path for f in library.folders()]
    if not folders:
        raise UserError("no folders yet: `bitlens index FOLDER` first")
    batches: queue.Queue = queue.Queue()
    watcher = FolderWatcher(folders, batches.put, debounce_s=args.debounce, poll_interval_s=args.poll).start()
    print(f"watching {len(folders)} folder(s)" if watcher.mode == "watching" else f"note: {watcher.note}", flush=True)
    try:
        while True:
            batch = batches.get()
            if not library_folders_of(batch, folders):
                continue
            report = library.index(device=args.device)
            changed = "rescan" if batch is None else f"{len(batch)} changed path(s)"
            print(f"{time.strftime('%H:%M:%S')} {changed}: {report.summary()}", flush=True)
    finally:
        watcher.stop()


def _cmd_show(library, args) -> int:
    info = library.photo(args.path)
    if info is None:
        raise UserError(f"not in the library: {args.path}")
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    print(info["path"])
    print(f"  status: {info['status']}" + (f" ({info['error']})" if info["error"] else ""))
    if info["width"]:
        print(f"  size: {info['width']}×{info['height']} {info['format'] or ''}, {info['size']:,} bytes")
    if info["date_taken"]:
        print(f"  taken: {info['date_taken']}")
    camera = " ".join(x for x in (info["camera_make"], info["camera_model"]) if x)
    if camera:
        print(f"  camera: {camera}")
    for tag in info["tags"]:
        print(f"  tag: {tag['tag']}  [{tag['source']}]")
    return 0


def _cmd_status(library, args) -> int:
    status = library.status()
    if args.json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
        return 0
    print(f"Library: {status['library']}")
    print(f"  folders: {status['folders']}, photos: {status['photos']}, missing: {status['missing']}, errors: {status['errors']}, tags: {status['tags']}")
    model = status["active_model"]
    print(f"  active model: {model['name']}" if model else "  no codes yet: run `bitlens index FOLDER`")
    return 0


def _cmd_folders(library, args) -> int:
    if args.action == "list":
        infos = library.folders()
        if args.json:
            from dataclasses import asdict

            print(json.dumps([asdict(i) for i in infos], indent=2, ensure_ascii=False))
        elif not infos:
            print("No folders yet: `bitlens folders add FOLDER` or `bitlens index FOLDER`.")
        for info in infos if not args.json else ():
            state = "" if info.reachable else "  (not reachable)"
            print(f"{info.path}: {info.photos} photos, {info.missing} missing, {info.errors} errors{state}")
    elif args.action == "add":
        for path in args.paths:
            print(f"added {library.add_folder(path)} (run `bitlens index` to index it)")
    else:
        for path in args.paths:
            count = library.remove_folder(path)
            print(f"forgot {path} and its {count} photos (no file was touched)")
    return 0


def _cmd_train(library, args) -> int:
    from .training.lifecycle import activate_model, train_model

    progress = _progress_printer(sys.stderr.isatty())
    overrides = {"training": {"database_codes": args.database_codes}} if args.database_codes else None
    try:
        kwargs = {"config_path": args.config} if args.config else {}
        model_id = train_model(library, bits=args.bits, epochs=args.epochs, effort=args.effort, device=args.device,
                               overrides=overrides, resume=args.resume, progress=progress, cancel=CancelToken(), **kwargs)
        if args.activate:
            activate_model(library, model_id, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    from .training.lifecycle import list_models

    info = next(m for m in list_models(library) if m["id"] == model_id)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in info["metrics"].items() if isinstance(v, float))
        print(f"trained model {model_id}: {info['name']}" + (f" ({metrics})" if metrics else ""))
        print("it is now active" if info["active"] else f"activate it with `bitlens models activate {model_id}`")
    return 0


def _cmd_models(library, args) -> int:
    from .training.lifecycle import activate_model, list_models, remove_model

    if args.action == "choices":
        from .models.catalog import CHOICES

        if args.json:
            print(json.dumps([c.as_dict() for c in CHOICES], indent=2))
        for c in CHOICES if not args.json else ():
            tag = f" --pretrained {c.pretrained}" if c.pretrained else ""
            print(f"--backbone {c.arch}{tag}\n    {c.label}; languages: {c.languages}; downloads {c.download}"
                  + (f"; needs {', '.join(c.needs)}" if c.needs else ""))
        return 0
    if args.action == "list":
        rows = list_models(library)
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("No models yet: `bitlens index FOLDER` makes the first one.")
        for row in rows if not args.json else ():
            mark = "*" if row["active"] else " "
            metrics = ", ".join(f"{k} {v:.3f}" for k, v in row["metrics"].items() if isinstance(v, float))
            print(f"{mark} {row['id']:>3}  {row['kind']:<8} {row['bits']:>3} bits  {row['name']}" + (f"  [{metrics}]" if metrics else ""))
    elif args.action == "activate":
        progress = _progress_printer(sys.stderr.isatty())
        try:
            activate_model(library, args.id, progress=progress, cancel=CancelToken())
        finally:
            if progress is not None:
                progress.close()
        print(f"model {args.id} is active")
    else:
        remove_model(library, args.id)
        print(f"removed model {args.id} (photos are not touched)")
    return 0


def _cmd_eval(library, args) -> int:
    from .training.benchmark import run_benchmark

    from .training.benchmark import ABLATIONS

    variants = {"trained": {}, **ABLATIONS} if args.ablation else None
    results = run_benchmark(args.benchmark, bits_list=args.bits, epochs=args.epochs, backbone=args.backbone, weights=args.weights,
                            work=args.work, out=args.out, progress=_progress_printer(sys.stderr.isatty()), variants=variants)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        from .training.benchmark import format_table

        print(format_table(results))
    return 0


class UserError(Exception):
    """A mistake in how the command was called, shown as one line."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; errors become one clear line on stderr and a non-zero exit."""
    args = _parser().parse_args(argv)
    from .library.library import Library, LibraryError
    from .library.migrations import LibraryTooNew
    from .library.codemodels import ModelFileError
    from .models.backbones import BackboneError
    from .models.weights import WeightsUnavailable
    from .search.searcher import SearchError
    from .training.errors import ModelError, TrainingDataError

    expected = (UserError, LibraryError, LibraryTooNew, ModelFileError, BackboneError, WeightsUnavailable, SearchError,
                TrainingDataError, ModelError, FileNotFoundError, PermissionError)
    try:
        with Library(args.library) as library:
            handler = {"index": _cmd_index, "search": _cmd_search, "show": _cmd_show, "status": _cmd_status, "folders": _cmd_folders,
                       "train": _cmd_train, "models": _cmd_models, "eval": _cmd_eval,
                       "duplicates": _cmd_duplicates, "suggest": _cmd_suggest, "watch": _cmd_watch}[args.command]
            return handler(library, args)
    except expected as error:
        print(f"bitlens: error: {error}", file=sys.stderr)
        return 1
    except Cancelled:
        print("bitlens: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("bitlens: interrupted; what was finished is kept, run the command again to go on", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

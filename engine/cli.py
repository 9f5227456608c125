"""The `bitlens` command line: index folders, search, inspect the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional, Sequence

from . import __version__, cli_search as search_verbs
from .jobs import Cancelled, CancelToken, ProgressEvent
from .library.report import json_text, printable_path
from .models.catalog import DEFAULT_ARCH, DEFAULT_PRETRAINED
from .models.config import KEEP_LEVELS, keep_overrides


def _progress_printer(enabled: bool):
    """A progress callback that draws a tqdm bar per stage on a terminal, else nothing."""
    if not enabled:
        return None
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}
    said: set[str] = set()

    def show(event: ProgressEvent) -> None:
        if len(event.message) > 40 and event.message not in said:
            said.add(event.message)  # too long for the bar (e.g. where the cluster reads photos): its own line, once
            tqdm.write(event.message, file=sys.stderr)
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
    index.add_argument("--backbone", help=f"open_clip model name, 'tiny' (random weights, offline), or a model-config .json (default {DEFAULT_ARCH})")
    index.add_argument("--pretrained", help=f"open_clip pretrained tag (default for {DEFAULT_ARCH}: {DEFAULT_PRETRAINED})")
    index.add_argument("--weights", metavar="FILE", help="local weights file for the backbone (its architecture is read from it when --backbone is not given)")
    index.add_argument("--bits", type=int, choices=(16, 32, 64, 128), help="code length for a new code model (default 64)")
    index.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    index.add_argument("--batch-size", type=int, default=32)
    index.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "int8", "fp32"),
        help="image tower precision: auto = int8 (ONNX Runtime) where no GPU encodes, fp32 with one; a library keeps its own unless you choose (default: auto)",
    )
    index.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="encode on a Ray cluster: HOST:6379 of a `ray start --head` node, ray://HOST:10001, "
        "or local (Ray in this process); needs `pip install bitlens[cluster]`",
    )
    index.add_argument(
        "--ocr",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read the text in photos so searches find their words (default: on where the OCR engine is installed)",
    )
    index.add_argument("--json", action="store_true", help="print the scan report as JSON")

    reindex = commands.add_parser("reindex", help="move the library to another backbone: encode every photo with it; search switches once all have codes")
    reindex.add_argument("--backbone", help=f"open_clip model name, 'tiny', or a model-config .json (default {DEFAULT_ARCH})")
    reindex.add_argument("--pretrained", help="open_clip pretrained tag")
    reindex.add_argument("--weights", metavar="FILE", help="local weights file (its architecture is read from it when --backbone is not given)")
    reindex.add_argument("--bits", type=int, choices=(16, 32, 64, 128), help="code length (default: the current model's)")
    reindex.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    reindex.add_argument("--batch-size", type=int, default=32)
    reindex.add_argument("--precision", default="auto", choices=("auto", "int8", "fp32"), help="image tower precision (as for index)")
    reindex.add_argument("--json", action="store_true", help="print the report as JSON")

    search = commands.add_parser("search", help="rank photos by a text or image query")
    search.add_argument("text", nargs="?", help='what to look for, e.g. "dog on the beach"')
    search.add_argument("--image", metavar="FILE", help="find photos similar to this one")
    search.add_argument("--batch", metavar="FILE", help="one query per line (text, or @PATH for an image); JSON Lines out")
    search.add_argument("--limit", type=int, default=20, help="how many results (0 = the whole ranking)")
    search.add_argument("--folder", help="only photos below this folder")
    search_verbs.add_search_filters(search)
    search.add_argument("--json", action="store_true", help="print JSON: a list of {rank, path, distance}")
    search.add_argument("--device", default="auto")

    search_verbs.add_commands(commands)

    show = commands.add_parser("show", help="what the library knows of one photo")
    show.add_argument("path")
    show.add_argument("--json", action="store_true")

    train = commands.add_parser("train", help="train the hashing network on the library's tags (the active model stays until --activate)")
    train.add_argument("--bits", type=int, choices=(16, 32, 64, 128), default=64)
    train.add_argument(
        "--epochs", type=int, help="training epochs (default: the config's 30, fewer for a library past about 5,000 photos, so a run stays near 1,100 steps)"
    )
    train.add_argument(
        "--effort",
        default="head",
        choices=("head", "finetune", "scratch"),
        help="head: the hashing network on cached backbone features (fast); finetune: also the image tower's "
        "last blocks (a GPU helps); scratch: a re-initialised image tower trained from pixels (small backbones)",
    )
    train.add_argument("--config", help="hashing config JSON (default: the built-in one)")
    train.add_argument("--database-codes", choices=("image", "fused"), help="code library photos from pixels only, or from pixels and their tags")
    train.add_argument(
        "--keep",
        choices=tuple(KEEP_LEVELS),
        help="how much of the backbone's own sense of which photos look alike training keeps: tags (the default) follows the "
        "library's tags; backbone keeps concepts no tag names findable by words, at some cost to the tag words",
    )
    train.add_argument("--resume", action="store_true", help="continue an interrupted training run")
    train.add_argument("--activate", action="store_true", help="re-hash the library with the new model and switch to it")
    train.add_argument("--device", default="auto")
    train.add_argument("--json", action="store_true")

    models = commands.add_parser("models", help="code models (list, activate, remove) and backbone weights (available, download, import)")
    model_commands = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    from .models import weights_cli

    weights_cli.add_parsers(model_commands)
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
    evaluate.add_argument("--effort", default="head", choices=("head", "finetune", "scratch"), help="training effort of the trained rows")
    evaluate.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one hashing-config value for the trained rows, e.g. training.finetune_blocks=4 (repeatable)",
    )
    evaluate.add_argument(
        "--regime",
        default="rich",
        choices=("rich", "folders", "held-out"),
        help="what the folders say: every tag source (rich), album folder names only (folders), "
        "or folder names with four concepts' albums renamed to camera folders (held-out)",
    )
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


def _print_report(report, as_json: bool, title: str = "Indexed") -> None:
    if as_json:
        print(json_text(report.as_dict(), indent=2))
        return
    print(f"{title}: {report.summary()}")
    for note in report.notes:
        print(f"note: {note}")
    if report.problems:
        print(f"{len(report.problems)} file(s) need attention:")
        for path, reason in report.problems:
            print(f"  {path}: {reason}")


def _backbone_spec(args):
    """The backbone the arguments name; a weights file without --backbone names its own architecture."""
    from .models.backbones import BackboneSpec

    backbone = args.backbone
    if args.weights and not backbone:
        from .models.architecture import infer_architecture

        backbone = infer_architecture(args.weights).arch
    return BackboneSpec.from_args(backbone, args.pretrained, args.weights)


def _cmd_index(library, args) -> int:
    spec = _backbone_spec(args) if args.backbone or args.pretrained or args.weights else None
    if not args.folders and not library.folders():
        raise UserError("no folders yet: give one, e.g. `bitlens index ~/Pictures`")
    progress = _progress_printer(sys.stderr.isatty())
    try:
        report = library.index(
            args.folders,
            backbone=spec,
            bits=args.bits,
            device=args.device,
            progress=progress,
            cancel=CancelToken(),
            batch_size=args.batch_size,
            precision=args.precision,
            cluster=args.cluster,
            ocr=args.ocr,
        )
    finally:
        if progress is not None:
            progress.close()
    _print_report(report, args.json)
    return 0


def _cmd_reindex(library, args) -> int:
    if not (args.backbone or args.pretrained or args.weights):
        raise UserError("say which model to move to, e.g. `bitlens reindex --backbone ViT-B-32`")
    spec = _backbone_spec(args)
    progress = _progress_printer(sys.stderr.isatty())
    try:
        report = library.change_backbone(
            spec, progress=progress, cancel=CancelToken(), bits=args.bits, device=args.device, batch_size=args.batch_size, precision=args.precision
        )
    finally:
        if progress is not None:
            progress.close()
    _print_report(report, args.json, title="Re-indexed")
    others = [m for m in library.models() if m["other_backbone"] and m["kind"] == "hashing"]
    if others and not args.json:
        print(f"note: {len(others)} trained model(s) of the previous backbone stay listed; activating one moves the library back to its backbone")
    return 0


def _results(searcher, args, text: Optional[str], image: Optional[str]) -> list[dict]:
    return search_verbs.results(searcher, args, text, image)


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
                print(json_text({"query": query, "results": _results(searcher, args, text, image)}), flush=True)
        return 0
    if not args.text and not args.image:
        raise UserError("give a text query, --image FILE, or --batch FILE")
    searcher = library.searcher(device=args.device)
    results = _results(searcher, args, args.text, args.image)
    if args.json:
        print(json_text(results, indent=2))
    elif not results:
        print("No photos match.")
    else:
        for r in results:
            print(f"{r['rank']:>4}  {r['distance']:>3}  {printable_path(r['path'])}")
    return 0


def _cmd_show(library, args) -> int:
    info = library.photo(args.path)
    if info is None:
        raise UserError(f"not in the library: {args.path}")
    if args.json:
        print(json_text(info, indent=2))
        return 0
    print(printable_path(info["path"]))
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
    for line in info.get("text", []):
        print(f"  text: {line['text']}  ({line['confidence']:.0%})")
    return 0


def _cmd_status(library, args) -> int:
    status = library.status()
    if args.json:
        print(json_text(status, indent=2))
        return 0
    print(f"Library: {status['library']}")
    print(f"  folders: {status['folders']}, photos: {status['photos']}, missing: {status['missing']}, errors: {status['errors']}, tags: {status['tags']}")
    if status["needs_attention"]:
        print(f"  needs attention: {status['needs_attention']} file(s)" + (" (`bitlens index` lists them)" if status["errors"] else ""))
        for problem in status["skipped"]:
            print(f"    {printable_path(problem['path'])}: {problem['reason']}")
    model = status["active_model"]
    print(f"  active model: {model['name']}" if model else "  no codes yet: run `bitlens index FOLDER`")
    return 0


def _cmd_folders(library, args) -> int:
    if args.action == "list":
        infos = library.folders()
        if args.json:
            from dataclasses import asdict

            print(json_text([asdict(i) for i in infos], indent=2))
        elif not infos:
            print("No folders yet: `bitlens folders add FOLDER` or `bitlens index FOLDER`.")
        for info in infos if not args.json else ():
            state = "" if info.reachable else "  (not reachable)"
            print(f"{printable_path(info.path)}: {info.photos} photos, {info.missing} missing, {info.errors} errors{state}")
    elif args.action == "add":
        for path in args.paths:
            print(f"added {printable_path(library.add_folder(path))} (run `bitlens index` to index it)")
    else:
        for path in args.paths:
            count = library.remove_folder(path)
            print(f"forgot {printable_path(path)} and its {count} photos (no file was touched)")
    return 0


def _cmd_train(library, args) -> int:
    from .training.lifecycle import activate_model, train_model

    progress = _progress_printer(sys.stderr.isatty())
    overrides = {"training": {"database_codes": args.database_codes}} if args.database_codes else None
    if args.keep:
        overrides = keep_overrides(args.keep, overrides)
    try:
        kwargs = {"config_path": args.config} if args.config else {}
        model_id = train_model(
            library,
            bits=args.bits,
            epochs=args.epochs,
            effort=args.effort,
            device=args.device,
            overrides=overrides,
            resume=args.resume,
            progress=progress,
            cancel=CancelToken(),
            **kwargs,
        )
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
            print(
                f"--backbone {c.arch}{tag}\n    {c.label}; languages: {c.languages}; downloads {c.download}"
                + (f"; needs {', '.join(c.needs)}" if c.needs else "")
            )
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
            other = "  (another backbone: activating it moves the library back to it)" if row.get("other_backbone") else ""
            print(f"{mark} {row['id']:>3}  {row['kind']:<8} {row['bits']:>3} bits  {row['name']}" + (f"  [{metrics}]" if metrics else "") + other)
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

    from .models.config import parse_overrides

    try:
        overrides = parse_overrides(args.set)
    except ValueError as error:
        raise UserError(f"--set {error}") from error
    variants = {"trained": overrides, **ABLATIONS} if args.ablation else {"trained": overrides}
    results = run_benchmark(
        args.benchmark,
        bits_list=args.bits,
        epochs=args.epochs,
        backbone=args.backbone,
        weights=args.weights,
        work=args.work,
        out=args.out,
        progress=_progress_printer(sys.stderr.isatty()),
        variants=variants,
        effort=args.effort,
        regime=args.regime,
    )
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
    try:
        status = _main(argv)
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at interpreter exit
        return status
    except BrokenPipeError:
        # The reader went away (`bitlens search … | head`): stop quietly, as Unix tools do.
        # Point stdout at /dev/null so that the interpreter's final flush cannot complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # what a shell reports for a tool ended by SIGPIPE


def _main(argv: Optional[Sequence[str]]) -> int:
    args = _parser().parse_args(argv)
    from .facade import BitLens
    from .library.library import LibraryError
    from .library.cluster import ClusterError
    from .library.lock import LibraryBusy
    from .library.migrations import LibraryTooNew
    from .library.codemodels import ModelFileError
    from .models import weights_cli
    from .models.backbones import BackboneError
    from .models.precision import PrecisionError
    from .models.weights import WeightsUnavailable
    from .search.searcher import SearchError
    from .training.errors import ModelError, TrainingDataError

    expected = (
        UserError,
        search_verbs.UsageError,
        LibraryError,
        LibraryTooNew,
        ModelFileError,
        BackboneError,
        WeightsUnavailable,
        SearchError,
        TrainingDataError,
        ModelError,
        LibraryBusy,
        FileNotFoundError,
        PermissionError,
        ClusterError,
        PrecisionError,
    )
    try:
        if args.command == "models" and args.action in weights_cli.ACTIONS:  # no library needed
            return weights_cli.run(args)
        with BitLens(args.library) as library:
            handler = {
                "index": _cmd_index,
                "reindex": _cmd_reindex,
                "search": _cmd_search,
                "show": _cmd_show,
                "status": _cmd_status,
                "folders": _cmd_folders,
                "train": _cmd_train,
                "models": _cmd_models,
                "eval": _cmd_eval,
                **search_verbs.HANDLERS,
            }[args.command]
            if args.command == "train" or (args.command == "models" and args.action != "list"):
                # Training and model switches change the library: one writing process at a time.
                with library.writing(args.command):
                    return handler(library, args)
            return handler(library, args)
    except BrokenPipeError:
        raise
    except expected as error:
        print(f"bitlens: error: {error}", file=sys.stderr)
        return 1
    except Cancelled:
        print("bitlens: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("bitlens: interrupted; what was finished is kept, run the command again to go on", file=sys.stderr)
        return 130
    except Exception as error:  # a full or read-only disk surfaces as a database error
        from .library.store import storage_problem

        message = storage_problem(error)
        if message is None:
            raise
        print(f"bitlens: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""The CLI verbs and flags of the search features: filters, cutoff, duplicates, tag suggestions, watching.

Kept apart from `cli.py`, which only hooks them in (`add_search_filters`, `add_commands`, `HANDLERS`).
"""

from __future__ import annotations

import argparse
from typing import Optional

from .library.report import json_text, printable_path


class UsageError(Exception):
    """A mistake in how a search verb was called, shown as one line (like cli.UserError)."""


def _user_error(message: str) -> Exception:
    return UsageError(message)


def add_search_filters(search) -> None:
    """Filters, relevance cutoff and sort order of `bitlens search`."""
    search.add_argument("--tag", action="append", default=[], metavar="TAG", help="only photos with this tag (repeat: all of them)")
    search.add_argument("--after", metavar="DATE", help="only photos taken on or after YYYY[-MM[-DD]] (file time if no date taken)")
    search.add_argument("--before", metavar="DATE", help="only photos taken before YYYY[-MM[-DD]]")
    search.add_argument("--type", action="append", default=[], metavar="TYPE", help="only these file types, e.g. jpg, png (repeat or comma-separate)")
    search.add_argument(
        "--radius",
        nargs="?",
        const="auto",
        metavar="BITS",
        help="only photos within this Hamming distance ('auto' or no value: the default for the code length)",
    )
    search.add_argument("--sort", choices=("distance", "date", "date-asc"), default="distance", help="order of the results (date: newest first)")


def add_commands(commands) -> None:
    duplicates = commands.add_parser("duplicates", help="groups of near-duplicate photos (nothing is deleted)")
    duplicates.add_argument(
        "--min-similarity",
        type=_similarity,
        default=None,
        metavar="PERCENT",
        help="how alike two photos' pixel fingerprints must be, in percent (default 90; 100: only identical fingerprints)",
    )
    duplicates.add_argument("--folder", help="only photos below this folder")
    duplicates.add_argument("--all", action="store_true", help="include photos forgotten in an earlier review")
    duplicates.add_argument("--json", action="store_true", help="print JSON: a list of {similarity, photos: [{path, size, width, height, date, similarity}]}")

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


def results(searcher, args, text: Optional[str], image: Optional[str]) -> list[dict]:
    """`bitlens search` results with the filters, cutoff and order the flags ask for."""
    from .search.cutoff import parse_radius
    from .search.filters import Filters

    filters = Filters(tags=tuple(args.tag), after=args.after, before=args.before, types=tuple(t for value in args.type for t in value.split(",") if t.strip()))
    try:
        radius = None if args.radius is None else parse_radius(args.radius, searcher.bits, default=searcher.default_radius)
    except ValueError as error:
        raise _user_error(str(error)) from error
    found = searcher.search(text=text, image=image, limit=args.limit, folder=args.folder, filters=filters, radius=radius, sort=args.sort)
    return [r.as_dict() for r in found]


def _similarity(text: str) -> float:
    """A similarity given in percent (90, 92.5) or as a fraction (0.9)."""
    value = float(text.rstrip("%"))
    value = value / 100 if value > 1 else value
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("the similarity must be between 0 and 100 %")
    return value


def _cmd_duplicates(library, args) -> int:
    from .search.duplicates import DEFAULT_MIN_SIMILARITY, Review, find_duplicates

    searcher = library.searcher(device="cpu")
    similarity = DEFAULT_MIN_SIMILARITY if args.min_similarity is None else args.min_similarity
    try:
        groups = find_duplicates(searcher, min_similarity=similarity, review=None if args.all else Review(library.paths.root), folder=args.folder)
    except ValueError as error:
        raise _user_error(str(error)) from error
    if args.json:
        print(json_text([g.as_dict() for g in groups], indent=2))
    elif not groups:
        print("No near-duplicates found.")
    for number, group in enumerate(groups if not args.json else (), 1):
        print(f"group {number} ({len(group.photos)} photos, at least {group.similarity:.0%} alike):")
        for photo in group.photos:
            size = f"{photo.width}×{photo.height}" if photo.width else "?"
            print(f"  {photo.similarity:>5.0%}  {size:>11}  {photo.size:>10,} B  {printable_path(photo.path)}")
    return 0


def _cmd_suggest(library, args) -> int:
    from pathlib import Path

    from .search.suggest import TagSuggester, accept_tag, reject_tag

    if args.accept or args.reject:
        if len(args.paths) != 1:
            raise _user_error("--accept and --reject take exactly one photo")
        info = library.photo(args.paths[0])
        if info is None:
            raise _user_error(f"not in the library: {args.paths[0]}")
        if args.accept:
            accept_tag(library, info["path"], args.accept)
            print(f"tagged {printable_path(info['path'])} with '{args.accept}'")
        if args.reject:
            reject_tag(library, info["path"], args.reject)
            print(f"'{args.reject}' will not be suggested for {printable_path(info['path'])} again")
        return 0
    suggester = TagSuggester(library.searcher(device="cpu"), use_text=args.text)
    paths = [str(Path(p).expanduser().absolute()) for p in args.paths] or (suggester.untagged_paths() if args.untagged else [])
    if not paths:
        raise _user_error("give photos, or --untagged for every photo without tags")
    out = []
    for path in paths:
        try:
            out.append({"path": path, "suggestions": [s.as_dict() for s in suggester.suggest(path, args.limit, args.min_confidence)]})
        except ValueError as error:
            raise _user_error(str(error)) from error
    if args.json:
        print(json_text(out, indent=2))
        return 0
    for entry in out:
        found = ", ".join(f"{s['tag']} ({s['confidence']:.0%})" for s in entry["suggestions"]) or "no confident suggestion"
        print(f"{printable_path(entry['path'])}: {found}")
    return 0


def _cmd_watch(library, args) -> int:
    import queue
    import time

    from .library.watch import FolderWatcher, library_folders_of

    folders = [f.path for f in library.folders()]
    if not folders:
        raise _user_error("no folders yet: `bitlens index FOLDER` first")
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


HANDLERS = {"duplicates": _cmd_duplicates, "suggest": _cmd_suggest, "watch": _cmd_watch}

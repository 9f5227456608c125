"""Every engine call the GUI makes, as small functions that run inside a background job.

Widgets never open a database session, import torch or walk a folder: they ask the
job runner to run one of these with a `JobContext`, whose `library` belongs to the
worker thread the function runs on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from .torch_loader import import_torch

if TYPE_CHECKING:
    from engine.facade import BackboneSpec, Filters, FolderInfo, ScanReport, WeightsRow

    from .jobs import JobContext

RESULT_LIMIT = 1000  # results shown for a query; the ranking behind them covers the whole library


@dataclass(frozen=True)
class IndexOptions:
    """How to index: the model for a library that has none yet, code length, device."""

    backbone: str = ""
    pretrained: str = ""
    weights: str = ""
    bits: int = 64
    device: str = "auto"
    cluster: str = ""  # "Compute on": empty for this computer, else a Ray address (engine/library/cluster.py)
    read_text: bool = True  # OCR where the engine is installed

    @property
    def explicit_model(self) -> bool:
        """Whether a model was chosen (else the default, catalog.DEFAULT, is used)."""
        return bool(self.backbone or self.pretrained or self.weights)

    def spec(self) -> Optional["BackboneSpec"]:
        """The chosen backbone as an engine spec, or None for the library's own / the default."""
        if not self.explicit_model:
            return None
        from engine.facade import BackboneSpec, weights_architecture

        # a weights file without an architecture names its own (read from its tensors)
        backbone = self.backbone or (weights_architecture(self.weights) if self.weights else None)
        return BackboneSpec.from_args(backbone, self.pretrained or None, self.weights or None)


@dataclass(frozen=True)
class Query:
    """What the user asked: words, an example photo, or neither (browse everything)."""

    text: str = ""
    image: Optional[str] = None
    folder: Optional[str] = None
    filters: Optional["Filters"] = None  # tags, dates, types (engine.search.filters)
    radius: Optional[int] = None  # relevance cutoff in bits; None = rank everything
    sort: str = "distance"  # or "date" / "date-asc"

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.image

    def describe(self) -> str:
        if self.image:
            what = f"photos like {Path(self.image).name}"
        else:
            what = f"“{self.text.strip()}”" if self.text.strip() else "all photos"
        narrowed = self.filters.describe() if self.filters is not None and not self.filters.empty else ""
        return what + (f" ({narrowed})" if narrowed else "")


@dataclass
class ResultPage:
    """A ranked (or, for browsing, listed) set of photos with what the grid needs."""

    query: Query
    ids: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    distances: Optional[list[int]] = None  # None when browsing (no query to measure from)
    bits: Optional[int] = None
    default_radius: Optional[int] = None  # the model's own "close matches" radius (calibrated when trained)
    searched: int = 0  # how many photos matched (folder, filters, cutoff): the page shows at most RESULT_LIMIT of them
    reason: str = ""  # why the page is empty, when the library cannot answer yet


@dataclass
class Overview:
    """The library at a glance: folders with counts, and the status numbers."""

    folders: list["FolderInfo"]
    status: dict
    formats: list[str] = field(default_factory=list)  # file formats present ("JPEG", "PNG"): the type filter offers these
    subfolders: dict = field(default_factory=dict)  # library folder -> [(sub-folder, photos below it)], for the sidebar tree
    tags: list[str] = field(default_factory=list)  # tag names, most used first, for completion


# -- reading ------------------------------------------------------------------------


def load_overview(ctx: "JobContext") -> Overview:
    """Folders with their counts and the library status."""
    library = ctx.library
    return Overview(folders=library.folders(), status=library.status(), formats=library.formats(), subfolders=library.subfolders(), tags=library.tag_names())


def browse(ctx: "JobContext", query: Query) -> ResultPage:
    """Every photo of the library (or one folder) in the order it was indexed, or by date."""
    rows = ctx.library.listing(query.folder, query.filters, sort="indexed" if query.sort == "distance" else query.sort)
    return ResultPage(query=query, ids=[r[0] for r in rows], paths=[r[1] for r in rows], searched=len(rows))


def shared_searcher(ctx: "JobContext", device: str):
    """This worker's searcher, rebuilt when what a search ranks changed since it was made (the engine's codes version)."""
    state = ctx.state
    version = ctx.library.codes_version()
    if state.get("codes_version") != version or "searcher" not in state:
        from engine.facade import SearchError

        old = state.get("searcher")
        try:
            searcher = ctx.library.searcher(device=device)
        except SearchError:
            searcher = None
        if searcher is not None and old is not None:
            searcher.adopt_backbone(old)  # same model: keep the loaded backbone (seconds to build)
        state["searcher"], state["codes_version"] = searcher, version
    return state["searcher"]


def search(ctx: "JobContext", query: Query, device: str = "auto", limit: Optional[int] = None) -> ResultPage:
    """Rank the library by Hamming distance to a text or image query."""
    import_torch()
    searcher = shared_searcher(ctx, device)
    if searcher is None:
        return ResultPage(query=query, reason="no_model")
    ctx.check()  # a newer query may have arrived while the searcher loaded
    results = searcher.search(
        text=query.text or None,
        image=query.image,
        limit=limit or RESULT_LIMIT,
        folder=query.folder,
        filters=query.filters,
        radius=query.radius,
        sort=query.sort,
    )
    return ResultPage(
        query=query,
        ids=[r.image_id for r in results],
        paths=[r.path for r in results],
        distances=[r.distance for r in results],
        bits=searcher.bits,
        default_radius=searcher.default_radius,
        searched=searcher.last_matched,  # after folder, filters and cutoff: the grid's "of N"
    )


def photo_details(ctx: "JobContext", path: str) -> Optional[dict]:
    """What the library knows of one photo (tags with sources, date, camera, size)."""
    return ctx.library.photo(path)


def warm_up(ctx: "JobContext", device: str = "auto") -> bool:
    """Import torch and open_clip and load the searcher's model before the first query needs it."""
    import_torch()
    searcher = shared_searcher(ctx, device)
    if searcher is None:
        import open_clip  # noqa: F401 - the import alone takes seconds; do it now, not at index time

        return False
    searcher.backbone  # noqa: B018 - loads the model
    return True


# -- writing (always on the single write lane) ----------------------------------------------


def index_folders(ctx: "JobContext", folders: list[str], options: IndexOptions) -> "ScanReport":
    """Add folders (if new), scan the library and encode new photos."""
    import_torch()
    library = ctx.library
    has_model = library.current_backbone() is not None
    # A library keeps its model: the settings choose only the model of a library without one.
    spec = None if has_model else options.spec()
    bits = None if has_model else options.bits
    return library.index(
        folders,
        backbone=spec,
        bits=bits,
        device=options.device,
        progress=ctx.progress,
        cancel=ctx.cancel,
        cluster=options.cluster.strip() or None,
        ocr=None if options.read_text else False,
    )


def change_backbone(ctx: "JobContext", options: IndexOptions) -> "ScanReport":
    """Move the library to the options' model: every photo encoded with it; search switches once all have codes."""
    import_torch()
    spec = options.spec()
    if spec is None:
        from engine.facade import BackboneSpec

        spec = BackboneSpec.from_args(None)  # the default model
    return ctx.library.change_backbone(spec, progress=ctx.progress, cancel=ctx.cancel, device=options.device)


def add_folder(ctx: "JobContext", folder: str) -> str:
    """Add a folder to the library without indexing it yet."""
    return ctx.library.add_folder(folder)


def remove_folder(ctx: "JobContext", folder: str) -> int:
    """Forget a folder and its photos' rows; the files are never touched."""
    return ctx.library.remove_folder(folder)


# -- model weights (shared by every library on this computer) ----------------------------------


def default_weights_cached() -> bool:
    """Whether the default model's pretrained weights are already on this machine (a cache lookup: no torch)."""
    from engine.facade import default_weights_cached as cached

    return cached()


def needs_first_run(ctx: "JobContext", options: IndexOptions, weights_cached=default_weights_cached) -> bool:
    """True when the library has no model, none was chosen, and the default weights are missing."""
    if options.explicit_model or ctx.library.status()["active_model"] is not None:
        return False
    return not weights_cached()


def hub_reachable(ctx: "JobContext") -> bool:
    """Whether the model hub can be reached now (answers within a few seconds, offline at once)."""
    from engine.facade import hub_reachable as reachable

    return reachable()


def download_default_weights(ctx: "JobContext") -> str:
    """Download the default model's weights into the shared Hugging Face cache, with progress."""
    return download_weights(ctx, "")


def download_weights(ctx: "JobContext", name: str) -> str:
    """Download (or find) the backbone weights called `name` (ARCH/TAG; empty: the default); resumable, sha256-checked."""
    import_torch()  # open_clip's model list imports torch; do it the way the GUI always does
    from engine.facade import download_weights as download

    return download(name, progress=ctx.progress, cancel=ctx.cancel)


def import_weights(ctx: "JobContext", path: str, name: str) -> str:
    """Copy a local weights file into the shared cache as `name`'s weights (ARCH/TAG), once its tensors show it is ARCH."""
    import_torch()
    from engine.facade import import_weights as take_in, weights_architecture

    arch = name.replace(":", "/").partition("/")[0]
    found = weights_architecture(path, arch)
    if found != arch:  # another model's file must not be cached under this one's name
        shown = Path(found).stem if found.endswith(".json") else found
        raise ValueError(f"{Path(path).name} is a {shown} model, not {arch}: choose an entry of its architecture")
    return take_in(path, name)


def list_weights(ctx: "JobContext") -> list["WeightsRow"]:
    """The recommended architecture's weights plus everything already downloaded."""
    import_torch()
    from engine.facade import list_weights as listing

    return listing()


def check_weights_file(ctx: "JobContext", arch: str, weights: str) -> str:
    """Check that a weights file loads as the given architecture; returns its absolute path."""
    import_torch()
    from engine.facade import check_weights_file as check

    return check(arch, weights)


def weights_architecture(ctx: "JobContext", weights: str, typed: str = "") -> str:
    """The architecture of a weights file, read from its tensor shapes (what was typed wins among several that fit)."""
    import_torch()  # open_clip's configs come with torch
    from engine.facade import weights_architecture as architecture

    return architecture(weights, typed)


def about_versions(ctx: "JobContext", device: str = "auto") -> dict:
    """Versions of BitLens, torch, open_clip, Qt, and the device the app computes on."""
    import_torch()
    from engine.diagnostics import versions
    from engine.facade import compute_device

    info = versions(load_torch=True)
    info["device"] = compute_device(device)
    return info

"""The engine as an application sees it: `BitLens`, the weights verbs, and the plain types they use.

The desktop app imports from here and from nothing deeper (tests/structure/test_layers.py checks).
Names load on first use (PEP 562), so importing the facade for one constant costs no
SQLAlchemy, Pillow or torch; a type checker sees the real definitions below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    # the facade itself
    "BitLens": "engine.facade.bitlens",
    "FeatureShape": "engine.facade.bitlens",
    "WeightsRow": "engine.facade.weights",
    "default_weights_cached": "engine.facade.weights",
    "hub_reachable": "engine.facade.weights",
    "download_weights": "engine.facade.weights",
    "import_weights": "engine.facade.weights",
    "list_weights": "engine.facade.weights",
    "check_weights_file": "engine.facade.weights",
    "compute_device": "engine.facade.weights",
    "weights_architecture": "engine.facade.weights",
    # the library: folders, scan reports, file types, watching
    "FolderInfo": "engine.library.library",
    "LibraryError": "engine.library.library",
    "ScanReport": "engine.library.report",
    "printable_path": "engine.library.report",
    "SUPPORTED_EXTENSIONS": "engine.library.formats",
    "FolderWatcher": "engine.library.watch",
    "library_folders_of": "engine.library.watch",
    "LibraryBusy": "engine.library.lock",
    # photos as pixels (thumbnails, the duplicate viewer)
    "DecodeError": "engine.pixels.decode",
    "load_rgb": "engine.pixels.decode",
    # backbones and their weights
    "BackboneSpec": "engine.models.backbones",
    "ArchitectureUnknown": "engine.models.architecture",
    "WeightsUnavailable": "engine.models.weights",
    "MODEL_CHOICES": "engine.models.catalog",
    "DEFAULT_MODEL": "engine.models.catalog",
    "DEFAULT_ARCH": "engine.models.catalog",
    "HashingConfig": "engine.models.config",
    "default_keep": "engine.models.config",
    "KEEP_LEVELS": "engine.models.config",
    "keep_overrides": "engine.models.config",
    # search: queries, filters, the cutoff, duplicates, suggestions
    "SearchError": "engine.search.searcher",
    "Filters": "engine.search.filters",
    "FilterError": "engine.search.filters",
    "parse_date": "engine.search.filters",
    "TYPE_ALIASES": "engine.search.filters",
    "default_radius": "engine.search.cutoff",
    "DEFAULT_MIN_SIMILARITY": "engine.search.duplicates",
    "DuplicateGroup": "engine.search.duplicates",
    "DuplicatePhoto": "engine.search.duplicates",
    "Review": "engine.search.duplicates",
    "Suggestion": "engine.search.suggest",
    # training
    "ModelError": "engine.training.errors",
    "TrainingDataError": "engine.training.errors",
    "default_epochs": "engine.training.budget",
    "looks_like_camera": "engine.training.tag_stats",
    "looks_like_date": "engine.training.tag_stats",
    "available_devices": "engine.training.estimate",
    "local_backbones": "engine.training.estimate",
    "estimate_head_seconds": "engine.training.estimate",
    "training_efforts": "engine.facade.bitlens",
}
# Exported under another name than the defining module's.
_RENAMED = {"MODEL_CHOICES": "CHOICES", "DEFAULT_MODEL": "DEFAULT"}

__all__ = [
    "ArchitectureUnknown",
    "BackboneSpec",
    "BitLens",
    "DEFAULT_ARCH",
    "DEFAULT_MIN_SIMILARITY",
    "DEFAULT_MODEL",
    "DecodeError",
    "DuplicateGroup",
    "DuplicatePhoto",
    "FeatureShape",
    "FilterError",
    "Filters",
    "FolderInfo",
    "FolderWatcher",
    "HashingConfig",
    "KEEP_LEVELS",
    "LibraryBusy",
    "LibraryError",
    "MODEL_CHOICES",
    "ModelError",
    "Review",
    "SUPPORTED_EXTENSIONS",
    "ScanReport",
    "SearchError",
    "Suggestion",
    "TYPE_ALIASES",
    "TrainingDataError",
    "WeightsRow",
    "WeightsUnavailable",
    "available_devices",
    "check_weights_file",
    "compute_device",
    "default_epochs",
    "default_keep",
    "default_radius",
    "default_weights_cached",
    "download_weights",
    "estimate_head_seconds",
    "hub_reachable",
    "import_weights",
    "keep_overrides",
    "library_folders_of",
    "list_weights",
    "load_rgb",
    "local_backbones",
    "looks_like_camera",
    "looks_like_date",
    "parse_date",
    "printable_path",
    "training_efforts",
    "weights_architecture",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.facade' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from ..library.library import FolderInfo, LibraryError
    from ..library.lock import LibraryBusy
    from ..library.formats import SUPPORTED_EXTENSIONS
    from ..library.report import ScanReport, printable_path
    from ..library.watch import FolderWatcher, library_folders_of
    from ..models.architecture import ArchitectureUnknown
    from ..models.backbones import BackboneSpec
    from ..models.catalog import CHOICES as MODEL_CHOICES
    from ..models.catalog import DEFAULT as DEFAULT_MODEL
    from ..models.catalog import DEFAULT_ARCH
    from ..models.config import KEEP_LEVELS, HashingConfig, default_keep, keep_overrides
    from ..models.weights import WeightsUnavailable
    from ..pixels.decode import DecodeError, load_rgb
    from ..search.cutoff import default_radius
    from ..search.duplicates import DEFAULT_MIN_SIMILARITY, DuplicateGroup, DuplicatePhoto, Review
    from ..search.filters import TYPE_ALIASES, FilterError, Filters, parse_date
    from ..search.searcher import SearchError
    from ..search.suggest import Suggestion
    from ..training.budget import default_epochs
    from ..training.errors import ModelError, TrainingDataError
    from ..training.estimate import available_devices, estimate_head_seconds, local_backbones
    from ..training.tag_stats import looks_like_camera, looks_like_date
    from .bitlens import BitLens, FeatureShape, training_efforts
    from .weights import (
        WeightsRow,
        check_weights_file,
        compute_device,
        default_weights_cached,
        download_weights,
        hub_reachable,
        import_weights,
        list_weights,
        weights_architecture,
    )

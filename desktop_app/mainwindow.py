"""The main window: sidebar, search bar, result grid, preview, status bar, and the flows between them."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QByteArray, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from engine.jobs import ProgressEvent
from engine.paths import library_paths

from . import operations as ops
from . import settings as s
from .drops import might_carry_something, read_drop, save_query_image
from .empty_state import EmptyState
from .filters_bar import FiltersBar
from .first_run import FirstRunDialog, ModelChoice
from .grid import ResultsGrid
from .jobs import IO, READ, SEARCH, WRITE, Job, JobRunner
from .preview import PreviewPane
from .results_model import ResultsModel, Roles
from .search_bar import SearchBar
from .sidebar import FolderSidebar
from .status import StatusPanel, short_progress
from .thumbnails import ThumbnailCache

SIDEBAR_WIDTH, PREVIEW_WIDTH = 240, 320  # the side panes' widths in a roomy window
LISTING_REFRESH_S = 0.8
LOADING_MODEL = (
    "Loading the search model… the first search after a start takes a few seconds"  # while indexing, how often the "all photos" grid picks up new photos
)


def describe_page(page: ops.ResultPage) -> str:
    """The status line for a result page: the number of photos in the grid, and of how many matches."""
    count = len(page.ids)
    if page.distances is not None and count < page.searched:
        shown = f"Top {count:,} of {page.searched:,} matching photos"
    else:
        shown = "No photos" if not count else f"{count:,} photo{'' if count == 1 else 's'}"
    order = {"date": " (newest first)", "date-asc": " (oldest first)"}.get(page.query.sort, " (nearest first)" if page.distances is not None else "")
    return f"{shown} — {page.query.describe()}" + (order if count else "")


class MainWindow(QMainWindow):
    """The BitLens window; every engine call goes through `self.runner`."""

    results_shown = Signal(object)  # the ResultPage now in the grid
    overview_loaded = Signal(object)  # the Overview now in the sidebar and status bar
    indexing_finished = Signal(object)  # the index Job, with its outcome set

    def __init__(
        self,
        settings: s.Settings,
        library: Optional[str] = None,
        model_override: Optional[ModelChoice] = None,
        first_run: str = "ask",
        weights_cached: Callable[[], bool] = ops.default_weights_cached,
        parent: Optional[QWidget] = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.library_location = library
        self.model_override = model_override
        self.first_run_policy = first_run  # "ask", or "skip" (tests, scripted runs)
        self.weights_cached = weights_cached
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl  # replaceable in tests
        self.confirm: Callable[[str, str], bool] = self._ask
        self.errors: list[str] = []
        self.viewer = None  # the in-app viewer, when no external one opened a photo
        self.overview: Optional[ops.Overview] = None
        self.last_page: Optional[ops.ResultPage] = None
        self.codes_generation = 0
        self._indexing: dict[str, Job] = {}
        self._waiting_for_model: list[str] = []
        self._first_run_state = "unknown"  # unknown → checking → needed / not_needed → chosen
        self._first_run_dialog: Optional[FirstRunDialog] = None
        self._last_listing_refresh = 0.0
        self._changed_while_indexing: set[str] = set()

        self.cache_dir = library_paths(library).cache
        self.runner = JobRunner(library, parent=self)
        self.runner.failed.connect(lambda job, error: self.notify_error(job.label or "Something went wrong", str(error)))
        self.thumbnails = ThumbnailCache(self.runner, self.cache_dir / "thumbnails", settings.get(s.THUMBNAIL_SIZE), self)
        self._build()
        self.setWindowTitle("BitLens")
        self.setAcceptDrops(True)
        self.resize(1240, 780)
        geometry = settings.get(s.WINDOW_GEOMETRY)
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii")))
        self._model_ready = False  # set once the search model is loaded: the first search waits for torch
        self._show_message("Opening the library…", "", "", "")

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.search = SearchBar(self)
        self.search.query_changed.connect(self.run_query)
        self.search.image_data_dropped.connect(self._image_data_dropped)
        self.search.folders_dropped.connect(self.add_folders)
        self.search.move_to_results.connect(self._focus_results)
        self.results = ResultsModel(self.thumbnails, self)
        self.grid = ResultsGrid(self.settings.get(s.THUMBNAIL_SIZE), self)
        self.grid.setModel(self.results)
        self.grid.setToolTip("Results, nearest first: Enter opens a photo, Space shows the preview, right-click for more")
        self.grid.open_requested.connect(self.open_photo)
        self.grid.preview_toggle_requested.connect(self.toggle_preview)
        self.grid.context_menu_requested.connect(self._context_menu)
        self.grid.selectionModel().currentChanged.connect(lambda *_: self._update_preview())
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._tag_the_selection())
        self.thumbnails.ready.connect(self._thumbnail_ready)
        self.empty = EmptyState(self)
        self.empty.action.connect(self._empty_action)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.empty)
        centre = QWidget(self)
        column = QVBoxLayout(centre)
        column.setContentsMargins(6, 8, 6, 0)
        column.addWidget(self.search)
        self.filters_bar = FiltersBar(self)
        self.filters_bar.changed.connect(self.run_query)
        column.addWidget(self.filters_bar)
        column.addWidget(self.stack, 1)
        self.sidebar = FolderSidebar(self)
        self.sidebar.add_requested.connect(self.choose_folder)
        self.sidebar.remove_requested.connect(self.remove_folder)
        self.sidebar.folder_selected.connect(lambda _folder: self.run_query())
        self.preview = PreviewPane(self.runner, self)
        # a tag edit can re-code the photo (fused codes): the next query reloads the codes
        self.preview.tag_editor.changed.connect(self._codes_changed)
        self.preview.suggestions.tags_changed.connect(lambda _path: self._codes_changed())
        self.preview.suggestions.generation = lambda: self.codes_generation
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(centre)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([SIDEBAR_WIDTH, 680, PREVIEW_WIDTH])
        self.splitter.setCollapsible(1, False)
        self.setCentralWidget(self.splitter)
        self.status = StatusPanel(self.statusBar())
        self.runner.started.connect(self.status.track)
        self.runner.progressed.connect(self.status.job_progress)
        self.runner.finished.connect(self.status.job_finished)
        self._build_actions()
        self._build_watch()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self._fit_panes)  # once the splitter has its new width

    def _fit_panes(self) -> None:
        """In a narrow window the side panes give up width first, so the grid keeps at least half;
        in a wide one they get back up to their usual widths."""
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if len(sizes) != 3 or total <= 0:
            return
        sidebar = min(SIDEBAR_WIDTH, max(self.sidebar.minimumSizeHint().width(), total * 22 // 100))
        preview = min(PREVIEW_WIDTH, max(self.preview.minimumSizeHint().width(), total * 28 // 100)) if sizes[2] else 0
        narrow = sizes[1] < total // 2
        roomy = sizes[0] < sidebar or (sizes[2] and sizes[2] < preview)
        if narrow or roomy:
            self.splitter.setSizes([sidebar, total - sidebar - preview, preview])

    def _build_watch(self) -> None:
        """Index photos added, changed, moved or deleted in the library folders while the app runs."""
        from PySide6.QtWidgets import QLabel

        from .watching import FolderWatch

        self.watch = FolderWatch(self)
        self.watch_note = QLabel("", self)
        self.watch_note.setStyleSheet("color: #a0522d;")
        self.statusBar().addPermanentWidget(self.watch_note)
        self.watch.note_changed.connect(
            lambda note: (self.watch_note.setText("Watching by periodic rescans" if note else ""), self.watch_note.setToolTip(note))
        )
        self.watch.changed.connect(self._folders_changed_on_disk)
        self.overview_loaded.connect(lambda overview: self.watch.set_folders([f.path for f in overview.folders]))

    def _folders_changed_on_disk(self, folders: list[str]) -> None:
        busy = [f for f in folders if f in self._indexing]
        for folder in busy:
            self._changed_while_indexing.add(folder)  # re-indexed when the running job ends
        waiting = [f for f in folders if f not in self._indexing]
        if waiting:
            self._index(waiting)

    def _build_actions(self) -> None:
        def action(text: str, slot, shortcut: Optional[QKeySequence | str] = None, menu: Optional[QMenu] = None) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            self.addAction(act)  # shortcuts work even where the menu bar is hidden
            if menu is not None:
                menu.addAction(act)
            return act

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        action("Add folder…", self.choose_folder, QKeySequence.StandardKey.Open, file_menu)
        action("Re-scan all folders", self.rescan, "F5", file_menu)
        file_menu.addSeparator()
        action("Settings…", self.open_settings, QKeySequence.StandardKey.Preferences, file_menu)
        file_menu.addSeparator()
        action("Quit", self.close, QKeySequence.StandardKey.Quit, file_menu)
        edit_menu = bar.addMenu("&Edit")
        self.find_action = action("Find", self.search.focus, QKeySequence.StandardKey.Find, edit_menu)
        view_menu = bar.addMenu("&View")
        self.preview_action = action("Preview pane", self.toggle_preview, None, view_menu)
        self.duplicates_action = action("Find near-duplicates…", self.show_duplicates, None, view_menu)
        self.preview_action.setCheckable(True)
        self.preview_action.setChecked(True)
        self.preview_action.setToolTip("Show or hide the preview of the current photo (Space in the grid)")
        models_menu = bar.addMenu("&Models")
        action("Train a model…", self.open_training_wizard, None, models_menu)
        action("Models…", self.open_models, None, models_menu)
        from .help import add_help

        self.help_actions = add_help(self)

    # -- starting ----------------------------------------------------------------------------

    def start(self) -> None:
        """Load the library's overview, then warm the model up in the background."""
        self.refresh_overview(then=self._after_first_overview)

    def _after_first_overview(self, overview: ops.Overview) -> None:
        self._restore_last_view(overview)
        self.run_query()
        self.runner.run_in_background(
            partial(ops.warm_up, codes_generation=self.codes_generation, device=self.options().device),
            lane=SEARCH,
            label="loading the model",
            on_success=self._model_loaded,
            on_failure=lambda _e: None,
        )
        self._check_first_run(overview)

    def _restore_last_view(self, overview: ops.Overview) -> None:
        """The folder and the words the user left the app with (a query given on the command line wins)."""
        query = self.settings.get(s.LAST_QUERY)
        if query and not self.search.text() and not self.search.image():
            self.search.field.blockSignals(True)  # one query below, not one per restored piece
            self.search.field.setText(query)
            self.search.field.blockSignals(False)
        folder = self.settings.get(s.LAST_FOLDER)
        known = {f.path for f in overview.folders} | {path for subs in overview.subfolders.values() for path, _n in subs}
        if folder and folder in known:
            self.sidebar.list.blockSignals(True)
            self.sidebar.select_folder(folder)
            self.sidebar.list.blockSignals(False)
            self.sidebar.remove_button.setEnabled(folder in {f.path for f in overview.folders})

    def _save_last_view(self) -> None:
        self.settings.set(s.WINDOW_GEOMETRY, bytes(self.saveGeometry().toBase64()).decode("ascii"))
        self.settings.set(s.LAST_FOLDER, self.sidebar.selected_folder() or "")
        self.settings.set(s.LAST_QUERY, self.search.text())

    def _model_loaded(self, _loaded: bool) -> None:
        self._model_ready = True
        if self.status.message.text().startswith(LOADING_MODEL):
            self.status.say("")

    def options(self) -> ops.IndexOptions:
        """How to index, from the settings and this run's command-line choice of model."""
        choice = self.model_override or ModelChoice(self.settings.get(s.BACKBONE), self.settings.get(s.PRETRAINED), self.settings.get(s.WEIGHTS))
        return ops.IndexOptions(
            choice.backbone,
            choice.pretrained,
            choice.weights,
            self.settings.get(s.CODE_BITS),
            self.settings.get(s.DEVICE),
            cluster=self.settings.get(s.COMPUTE_ON),
            read_text=self.settings.get(s.READ_TEXT) == "on",
        )

    # -- overview: folders and numbers -----------------------------------------------------------

    def refresh_overview(self, then: Optional[Callable[[ops.Overview], None]] = None) -> None:
        def loaded(overview: ops.Overview) -> None:
            self.overview = overview
            self.sidebar.set_folders(overview.folders, overview.subfolders)
            self.status.set_stats(overview.status)
            self.filters_bar.set_formats(overview.formats)
            self.filters_bar.tag_completer.set_tags(overview.tags)
            self.preview.tag_editor.completer.set_tags(overview.tags)
            self.overview_loaded.emit(overview)
            if then is not None:
                then(overview)

        self.runner.run_in_background(ops.load_overview, lane=READ, key=None if then else "overview", on_success=loaded)

    @property
    def has_model(self) -> bool:
        return bool(self.overview and self.overview.status.get("active_model"))

    # -- first run -----------------------------------------------------------------------------

    def _check_first_run(self, overview: ops.Overview) -> None:
        options = self.options()
        if overview.status.get("active_model") or options.explicit_model or self.first_run_policy != "ask":
            self._first_run_checked((False, False))
            return
        self._first_run_state = "checking"
        check = self.weights_cached
        self.runner.run_in_background(
            lambda ctx: (ops.needs_first_run(ctx, options, weights_cached=check), ops.hub_reachable(ctx)),
            lane=IO,
            label="checking for the model",
            on_success=self._first_run_checked,
            on_failure=lambda _e: self._first_run_checked((False, False)),
        )

    def _first_run_checked(self, answer: tuple[bool, bool]) -> None:
        needed, reachable = answer
        if self._first_run_state == "chosen":
            return
        self._first_run_state = "needed" if needed else "not_needed"
        if needed:
            self.show_first_run(reachable)
        elif self._waiting_for_model:
            self._index(self._take_waiting())

    def show_first_run(self, hub_reachable: Optional[bool] = None) -> FirstRunDialog:
        """Open the model dialog (window-modal, without blocking the event loop)."""
        if self._first_run_dialog is None:
            dialog = FirstRunDialog(self.runner, hub_reachable=hub_reachable, parent=self)
            dialog.chosen.connect(self.use_model)
            dialog.finished.connect(self._first_run_closed)
            self._first_run_dialog = dialog
            dialog.open()
        return self._first_run_dialog

    def use_model(self, choice: ModelChoice) -> None:
        """Remember the model chosen on first run and index what was waiting for it."""
        self.settings.set(s.BACKBONE, choice.backbone)
        self.settings.set(s.PRETRAINED, choice.pretrained)
        self.settings.set(s.WEIGHTS, choice.weights)
        self._first_run_state = "chosen"
        self.status.say(f"Using {choice.label}.", 8000)
        if self._waiting_for_model:
            self._index(self._take_waiting())

    def _first_run_closed(self, _result: int) -> None:
        self._first_run_dialog = None
        if self._first_run_state == "needed" and self._waiting_for_model:
            waiting = self._take_waiting()
            self.status.say(f"{len(waiting)} folder(s) added but not indexed: choose a model first (drop them again to retry).", 10000)
            for folder in waiting:
                self.sidebar.set_state(folder, "")
            self.runner.run_in_background(lambda ctx: [ops.add_folder(ctx, f) for f in waiting], lane=WRITE, on_success=lambda _r: self.refresh_overview())

    def _take_waiting(self) -> list[str]:
        waiting, self._waiting_for_model = self._waiting_for_model, []
        return waiting

    # -- folders ----------------------------------------------------------------------------

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder (BitLens only reads it)", str(Path.home()))
        if folder:
            self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        """Add folders and index them in the background, one after another."""
        fresh = []
        for folder in folders:
            path = str(Path(folder).expanduser().resolve())
            if path not in self._indexing and path not in self._waiting_for_model and path not in fresh:
                fresh.append(path)
        if not fresh:
            return
        if self._first_run_state in ("unknown", "checking", "needed"):
            # The model is not settled yet: index once the user has chosen one.
            self._waiting_for_model.extend(fresh)
            for folder in fresh:
                self.sidebar.set_state(folder, "waiting for a model")
            if self._first_run_state == "needed":
                self.show_first_run()
            return
        self._index(fresh)

    def rescan(self) -> None:
        """Re-scan every library folder (new, changed, moved and missing photos)."""
        self._index([])

    def _index(self, folders: list[str]) -> None:
        for folder in folders or [""]:
            name = Path(folder).name if folder else "the library"
            job = self.runner.run_in_background(
                partial(ops.index_folders, folders=[folder] if folder else [], options=self.options()),
                lane=WRITE,
                label=f"Indexing {name}",
                show_progress=True,
                on_progress=partial(self._index_progress, folder),
                on_success=partial(self._indexed, name),
                on_failure=partial(self._index_failed, name),
                on_finished=partial(self._index_finished, folder),
            )
            self.status.track(job)
            if folder:
                self._indexing[folder] = job
                self.sidebar.set_state(folder, "queued")
        self._update_empty_state()

    def _index_progress(self, folder: str, event: ProgressEvent) -> None:
        if folder:
            self.sidebar.set_state(folder, short_progress(event))
        now = time.monotonic()
        if now - self._last_listing_refresh >= LISTING_REFRESH_S:
            # Let the grid fill while indexing: new photos appear in the listing as they are found.
            self._last_listing_refresh = now
            self.refresh_overview()
            if self.last_page is None or self.last_page.distances is None:
                self.run_query()

    def _indexed(self, name: str, report) -> None:
        message = f"Indexed {name}: {report.summary()}."
        if report.problems:
            message += f" {len(report.problems)} file(s) could not be read (see the folder's count)."
        self.status.say(message, 10000)

    def _index_failed(self, name: str, error: BaseException) -> None:
        from engine.models.weights import WeightsUnavailable

        if isinstance(error, WeightsUnavailable) and self.first_run_policy == "ask":
            self._first_run_state = "needed"
            self.show_first_run()
        self.notify_error(f"Indexing {name} failed", str(error))

    def _index_finished(self, folder: str, job: Job) -> None:
        if folder:
            self._indexing.pop(folder, None)
            self.sidebar.set_state(folder, "")
        if job.outcome == "cancelled":
            self.status.say(f"{job.label}: cancelled (photos done so far are kept).", 8000)
        self.codes_generation += 1  # the searcher reloads the codes at the next query
        self.refresh_overview(then=lambda _overview: self.run_query())
        self.indexing_finished.emit(job)
        if folder in self._changed_while_indexing:
            self._changed_while_indexing.discard(folder)
            self._index([folder])  # files changed on disk while this folder was being indexed

    def _codes_changed(self) -> None:
        self.codes_generation += 1

    def remove_folder(self, folder: str) -> None:
        """Forget a folder (after asking); its files are never touched."""
        if not self.confirm(
            "Remove folder from the library?",
            f"BitLens will forget {folder} and its photos' codes and tags.\n\nThe photos themselves stay where they are: no file is deleted or changed.",
        ):
            return
        job = self._indexing.get(folder)
        if job is not None:
            job.cancel()

        def removed(count: int) -> None:
            self.status.say(f"Removed {folder} from the library ({count:,} photos forgotten; the files are untouched).", 10000)
            self.codes_generation += 1
            self.refresh_overview(then=lambda _overview: self.run_query())

        self.runner.run_in_background(partial(ops.remove_folder, folder=folder), lane=WRITE, label=f"Removing {Path(folder).name}", on_success=removed)

    # -- querying ----------------------------------------------------------------------------

    def current_query(self) -> ops.Query:
        bar = self.filters_bar
        return ops.Query(
            text=self.search.text(),
            image=self.search.image(),
            folder=self.sidebar.selected_folder(),
            filters=bar.filters(),
            radius=bar.radius(),
            sort=bar.sort_order(),
        )

    def run_query(self) -> None:
        """Show the grid for the search bar and folder choice (stale answers are dropped)."""
        query = self.current_query()
        if self.overview is None:
            return  # the first overview runs the query when it arrives
        if not self.overview.folders and not self._indexing and not self._waiting_for_model:
            self._show_page(ops.ResultPage(query=query))
            return
        if query.empty:
            job = partial(ops.browse, query=query)
            lane = READ
        elif not self.has_model:
            self._show_page(ops.ResultPage(query=query, reason="no_model"))
            return
        else:
            job = partial(ops.search, query=query, codes_generation=self.codes_generation, device=self.options().device)
            lane = SEARCH
            if not self._model_ready:
                # The first search after a start waits for torch and the model (seconds): keep a grid
                # on screen meanwhile and say what is happening.
                self.status.say(LOADING_MODEL)
                if not self.results.rowCount():
                    listing = replace(query, text="", image=None, radius=None, sort="distance")
                    self.runner.run_in_background(
                        partial(ops.browse, query=listing), lane=READ, key="listing-while-loading", on_success=partial(self._show_listing_while_loading, query)
                    )
        self.runner.run_in_background(job, lane=lane, key="results", label="search", on_success=self._show_page, on_failure=self._query_failed)

    def _show_listing_while_loading(self, asked: ops.Query, page: ops.ResultPage) -> None:
        if self._model_ready or self.current_query() != asked or (self.last_page is not None and self.last_page.query == asked):
            return  # the answer is here already, or the user asked something else
        self._show_page(page)
        self.status.say(LOADING_MODEL)

    def _show_page(self, page: ops.ResultPage) -> None:
        if page.distances is not None:
            self._model_ready = True
        self.filters_bar.set_bits(page.bits, page.default_radius)
        # The same question asked again (indexing added photos, codes changed) keeps the photo
        # and the place the user was at; a new question starts at the top with nothing chosen,
        # so its best matches are what the user sees first.
        again = self.last_page is not None and page.query == self.last_page.query
        current = self.grid.current_path() if again else None
        self.results.set_page(page)
        self.last_page = page
        row = self.results.row_of(current) if current is not None else None
        if row is not None:
            self.grid.setCurrentIndex(self.results.index(row))
        else:
            self.grid.selectionModel().clear()  # current and selection: the old ones belong to another question
            self.grid.scrollToTop()
        self._update_preview(refresh=True)
        self._update_empty_state()
        if not page.reason:
            self.status.say(describe_page(page))
        self.results_shown.emit(page)

    def _query_failed(self, error: BaseException) -> None:
        self.results.clear(self.current_query())
        self.last_page = ops.ResultPage(query=self.current_query(), reason="error")
        self._show_message("This search did not work", str(error), "", "")

    def find_similar(self, path: str) -> None:
        """Search by an example photo from the grid."""
        self.search.set_image(path)
        self._chip_icon(path)

    def _image_data_dropped(self, image: QImage) -> None:
        cache = self.cache_dir
        self.runner.run_in_background(
            lambda ctx: save_query_image(image, cache),
            lane=IO,
            label="saving the dropped picture",
            on_success=lambda path: (self.search.set_image(path, label="the dropped picture"), self._chip_icon(path)),
        )

    def _chip_icon(self, path: str) -> None:
        pixmap = self.thumbnails.get(path)
        if pixmap is not None:
            self.search.set_chip_icon(pixmap)

    def _thumbnail_ready(self, path: str) -> None:
        if path == self.search.image():
            self._chip_icon(path)

    # -- empty states --------------------------------------------------------------------------

    def _update_empty_state(self) -> None:
        page = self.last_page
        if self.results.rowCount() > 0:
            self.stack.setCurrentWidget(self.grid)
            return
        busy = bool(self._indexing) or bool(self._waiting_for_model)
        if self.overview is None:
            self._show_message("Opening the library…", "", "", "")
        elif not self.overview.folders and not busy:
            self._show_message(
                "Drop photo folders here",
                "Drag folders from your file manager onto this window, or add one. BitLens reads them to build its index; "
                "it never changes, moves or deletes your photos.",
                "Add folder…",
                "add",
            )
        elif busy and (page is None or not page.ids):
            self._show_message("Indexing…", "Photos appear here as they are found; searching works as soon as the first folder is indexed.", "", "")
        elif page is not None and page.reason == "no_model":
            self._show_message("Not indexed yet", "Index a folder to search it: re-scan the library, or add a folder.", "Re-scan now", "rescan")
        elif page is not None and page.reason == "error":
            return  # _query_failed has said what went wrong
        elif page is not None and page.query.radius is not None and not page.query.empty:
            self._show_message(
                "No close match",
                f"No photo is within {page.query.radius} bits of this query. Move the closeness slider right, "
                "or turn off “Close matches only”, to see the nearest ones anyway.",
                "",
                "",
            )
        elif page is not None and page.query.folder and page.query.empty:
            self._show_message(
                "No photos in this folder",
                "The folder has no photos BitLens can read, or they are missing. Re-scan if you added some.",
                "Re-scan now",
                "rescan",
            )
        else:
            self._show_message(
                "No photos match",
                "Try other words, choose “All photos” in the sidebar, or drop an example photo on the search bar.",
                "Show all photos",
                "all",
            )

    def _show_message(self, title: str, text: str, button: str, action: str) -> None:
        self.empty.set_message(title, text, button, action)
        self.stack.setCurrentWidget(self.empty)

    def _empty_action(self, action: str) -> None:
        if action == "add":
            self.choose_folder()
        elif action == "rescan":
            self.rescan()
        elif action == "all":
            self.search.clear_image()
            self.search.field.clear()
            self.sidebar.select_folder(None)
            self.run_query()

    # -- the current photo: preview, open, menu ----------------------------------------------------

    def toggle_preview(self) -> None:
        visible = not self.preview.isVisible()
        self.preview.setVisible(visible)
        self.preview_action.setChecked(visible)
        self._update_preview(refresh=True)

    def _update_preview(self, refresh: bool = False) -> None:
        """Show the current photo; `refresh` (a new result set) updates its distance even if it stayed."""
        if not self.preview.isVisible():
            return
        index = self.grid.currentIndex()
        path = index.data(Roles.PATH) if index.isValid() else None
        distance = index.data(Roles.DISTANCE) if index.isValid() else None
        if path != self.preview.path or path is None:
            self.preview.show_photo(path, distance, self.results.page.bits)
            self._tag_the_selection()
        elif refresh:
            self.preview.set_distance(distance, self.results.page.bits)

    def _tag_the_selection(self) -> None:
        """With several photos selected, "Your tags" adds to and removes from all of them."""
        selected = self.grid.selected_paths()
        editor = self.preview.tag_editor
        if len(selected) > 1 and selected != editor.paths:
            editor.set_photos(selected)
            if self.preview.details is not None:  # the chips stay the current photo's
                editor.set_user_tags([t["tag"] for t in self.preview.details.get("tags", []) if t["source"] == "user"])
        elif len(selected) <= 1 and len(editor.paths) > 1:
            editor.set_photos([self.preview.path] if self.preview.path else [])
            self.preview._reload_details()

    def open_photo(self, path: str):
        """Open the photo in the system's viewer; when none opens it, show it larger here and say so."""
        if self.open_url(QUrl.fromLocalFile(path)):
            return None
        from .viewer import PhotoViewer

        self.status.say(f"No viewer opened {Path(path).name}: it is shown in BitLens instead.", 8000)
        viewer = PhotoViewer(self.runner, path, self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.open()
        self.viewer = viewer
        return viewer

    def open_folder_of(self, path: str) -> None:
        """Open the folder that holds the photo in the file manager."""
        if not self.open_url(QUrl.fromLocalFile(os.path.dirname(path))):
            self.notify_error("The folder did not open", f"No file manager opened {os.path.dirname(path)}.")

    def show_duplicates(self):
        """Open the near-duplicates review (it never deletes files)."""
        from .duplicates_view import DuplicatesDialog

        dialog = DuplicatesDialog(self)
        dialog.show()
        dialog.start()
        return dialog

    def copy_path(self, path: str) -> None:
        QGuiApplication.clipboard().setText(path)
        self.status.say(f"Copied {path}", 4000)

    def build_context_menu(self, path: str) -> QMenu:
        """The grid's context menu for one photo (separate from showing it, for tests)."""
        menu = QMenu(self)
        menu.addAction("Find similar", lambda: self.find_similar(path))
        menu.addSeparator()
        menu.addAction("Open", lambda: self.open_photo(path))
        menu.addAction("Open containing folder", lambda: self.open_folder_of(path))
        menu.addAction("Copy path", lambda: self.copy_path(path))
        return menu

    def _context_menu(self, path: str, where: QPoint) -> None:
        menu = self.build_context_menu(path)
        menu.exec(where)
        menu.deleteLater()

    def _focus_results(self) -> None:
        self.grid.setFocus()
        if not self.grid.currentIndex().isValid() and self.results.rowCount():
            self.grid.setCurrentIndex(self.results.index(0))

    # -- drops on the window ------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if might_carry_something(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if might_carry_something(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        dropped = read_drop(event.mimeData())
        if dropped.empty:
            self.status.say("Drop photo folders to add them, or a photo to find similar ones.", 6000)
            return
        event.acceptProposedAction()
        if dropped.folders:
            self.add_folders(dropped.folders)
        elif dropped.photos:
            self.find_similar(dropped.photos[0])
        elif dropped.image is not None:
            self._image_data_dropped(dropped.image)

    # -- settings, errors, closing ----------------------------------------------------------------

    def open_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        dialog.finished.connect(lambda _r: self._apply_settings())
        dialog.open()

    def open_training_wizard(self):
        from .wizard.hook import open_training_wizard

        return open_training_wizard(self)

    def open_models(self):
        from .wizard.hook import open_models

        return open_models(self)

    def _apply_settings(self) -> None:
        size = self.settings.get(s.THUMBNAIL_SIZE)
        self.thumbnails.set_size(size)
        self.grid.set_thumbnail_size(size)
        self.grid.viewport().update()

    def notify_error(self, title: str, text: str) -> None:
        """Say what went wrong without blocking the event loop."""
        self.errors.append(f"{title}: {text}")
        self.status.say(f"{title}: {text}", 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        # Stop the workers first: a job must not call back into a window that is gone.
        self._save_last_view()
        self.status.say("Stopping background work…")
        self.watch.stop()
        self.runner.shutdown(wait=True)
        super().closeEvent(event)

"""The main window: sidebar, search bar, result grid, preview, status bar, and the flows between them."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox, QStackedWidget, QVBoxLayout, QWidget

from engine.jobs import ProgressEvent
from engine.paths import library_paths

from . import operations as ops
from . import settings as s
from .drops import might_carry_something, read_drop, save_query_image
from .empty_state import EmptyState, empty_message
from .filters_bar import FiltersBar
from .first_run import FirstRunDialog, ModelChoice
from .first_run_gate import FirstRunGate
from .grid import ResultsGrid
from .help import HelpMenu
from .indexing import IndexingQueue, folder_name
from .jobs import IO, READ, SEARCH, WRITE, Job, JobRunner
from .last_view import restore_last_view, save_last_view
from .library_context import LibraryContext
from .model_change import ModelChange
from .panes import PaneSplitter
from .photo_actions import PhotoActions
from .preview import PreviewPane
from .results_model import ResultsModel, Roles
from .search_bar import SearchBar
from .sidebar import FolderSidebar
from .status import StatusPanel, describe_page, short_progress
from .thumbnails import ThumbnailCache
from .wizard.models_menu import ModelsMenu

LISTING_REFRESH_S = 0.8  # while indexing, how often the "all photos" grid picks up new photos
LOADING_MODEL = "Loading the search model… the first search after a start takes a few seconds"


class MainWindow(QMainWindow):
    """The BitLens window: builds the panes and wires them; every engine call goes through `self.runner`."""

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
        self.confirm: Callable[[str, str], bool] = self._ask
        self.errors: list[str] = []
        self.overview: Optional[ops.Overview] = None
        self.last_page: Optional[ops.ResultPage] = None
        self._first_run_dialog: Optional[FirstRunDialog] = None
        self._last_listing_refresh = 0.0

        self.runner = JobRunner(library, parent=self)
        self.runner.failed.connect(lambda job, error: self.notify_error(job.label or "Something went wrong", str(error)))
        self.library = LibraryContext(self.runner, settings, model_override)
        self.cache_dir = library_paths(library).cache
        self.indexing = IndexingQueue(self.runner, self.library.options, self)
        self.first_run = FirstRunGate(self.runner, first_run, weights_cached, self)  # first_run: "ask", or "skip" (tests, scripted runs)
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
        self.photo_actions = PhotoActions(self.runner, self.find_similar, lambda text, ms: self.status.say(text, ms), self.notify_error, self)
        self.grid.open_requested.connect(self.photo_actions.open_photo)
        self.grid.preview_toggle_requested.connect(self.toggle_preview)
        self.grid.context_menu_requested.connect(self.photo_actions.show_context_menu)
        self.grid.selectionModel().currentChanged.connect(lambda *_: self._update_preview())
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self.preview.tag_photos(self.grid.selected_paths()))
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
        # the user's tags changed: suggestions are learned again (a re-coded photo reaches search through the codes version)
        self.preview.tag_editor.changed.connect(self.preview.suggestions.tags_edited)
        self.splitter = PaneSplitter(self.sidebar, centre, self.preview, self)
        self.setCentralWidget(self.splitter)
        self.status = StatusPanel(self.statusBar())
        self.runner.started.connect(self.status.track)
        self.runner.progressed.connect(self.status.job_progress)
        self.runner.finished.connect(self.status.job_finished)
        self._build_actions()
        self._build_watch()
        self._wire_indexing()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self.splitter.fit)  # once the splitter has its new width

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
        self.watch.changed.connect(self.indexing.changed_on_disk)
        self.overview_loaded.connect(lambda overview: self.watch.set_folders([f.path for f in overview.folders]))

    def _wire_indexing(self) -> None:
        """The indexing queue's news in the sidebar, status bar and grid; the first-run gate's dialog and waiting folders."""
        self.indexing.queued.connect(self._index_queued)
        self.indexing.progressed.connect(self._index_progress)
        self.indexing.indexed.connect(self._indexed)
        self.indexing.failed.connect(self._index_failed)
        self.indexing.finished.connect(self._index_finished)
        self.first_run.ask.connect(self.show_first_run)
        self.first_run.released.connect(self.indexing.index)
        self.first_run.put_off.connect(self._indexing_put_off)

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
        self.models_menu = ModelsMenu(self.runner, self.status.say, self)
        self.models_menu.models_changed.connect(self._models_changed)
        self.model_change = ModelChange(self.runner, self.library.options, lambda title, text: self.confirm(title, text), self.status.say, self)
        self.model_change.ended.connect(lambda _job: self._models_changed())
        self.help = HelpMenu(self, self.runner, self.settings, lambda: self.overview.status if self.overview is not None else {}, self.errors)

    # -- starting ----------------------------------------------------------------------------

    def start(self) -> None:
        """Load the library's overview, then warm the model up in the background."""
        self.refresh_overview(then=self._after_first_overview)

    def _after_first_overview(self, overview: ops.Overview) -> None:
        restore_last_view(self.settings, self.search, self.sidebar, overview)
        self.run_query()
        self.runner.run_in_background(
            partial(ops.warm_up, device=self.library.device),
            lane=SEARCH,
            label="loading the model",
            on_success=self._model_loaded,
            on_failure=lambda _e: None,
        )
        self.first_run.check(overview, self.library.options())

    def _model_loaded(self, _loaded: bool) -> None:
        self._model_ready = True
        if self.status.message.text().startswith(LOADING_MODEL):
            self.status.say("")

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

    def show_first_run(self) -> FirstRunDialog:
        """Open the model dialog (window-modal, without blocking the event loop)."""
        if self._first_run_dialog is None:
            dialog = FirstRunDialog(self.runner, parent=self)  # it checks the hub itself
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
        self.status.say(f"Using {choice.label}.", 8000)
        self.first_run.chosen()

    def _first_run_closed(self, _result: int) -> None:
        self._first_run_dialog = None
        self.first_run.dialog_closed()

    def _indexing_put_off(self, waiting: list[str]) -> None:
        """The model dialog closed without a choice: the folders that waited are added, not indexed."""
        self.status.say(f"{len(waiting)} folder(s) added but not indexed: choose a model first (drop them again to retry).", 10000)
        for folder in waiting:
            self.sidebar.set_state(folder, "")
        self.runner.run_in_background(lambda ctx: [ops.add_folder(ctx, f) for f in waiting], lane=WRITE, on_success=lambda _r: self.refresh_overview())

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
            if path not in self.indexing.running and path not in self.first_run.waiting and path not in fresh:
                fresh.append(path)
        if not fresh:
            return
        if self.first_run.hold(fresh):  # the model is not settled yet: indexed once the user has chosen one
            for folder in fresh:
                self.sidebar.set_state(folder, "waiting for a model")
            return
        self.indexing.index(fresh)

    def rescan(self) -> None:
        """Re-scan every library folder (new, changed, moved and missing photos)."""
        self.indexing.index([])

    def _index_queued(self, folder: str, job: Job) -> None:
        self.status.track(job)
        if folder:
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

    def _indexed(self, folder: str, report) -> None:
        message = f"Indexed {folder_name(folder)}: {report.summary()}."
        if report.problems:
            message += f" {len(report.problems)} file(s) could not be read (see the folder's count)."
        self.status.say(message, 10000)

    def _index_failed(self, folder: str, error: BaseException) -> None:
        from engine.facade import WeightsUnavailable

        if isinstance(error, WeightsUnavailable):
            self.first_run.weights_missing()
        self.notify_error(f"Indexing {folder_name(folder)} failed", str(error))

    def _index_finished(self, folder: str, job: Job) -> None:
        if folder:
            self.sidebar.set_state(folder, "")
        if job.outcome == "cancelled":
            self.status.say(f"{job.label}: cancelled (photos done so far are kept).", 8000)
        self.refresh_overview(then=lambda _overview: self.run_query())
        self.indexing_finished.emit(job)

    def _models_changed(self) -> None:
        """Another model is active (or the list changed): reload numbers and results (the searcher follows the codes version)."""
        self.refresh_overview(then=lambda _overview: self.run_query())

    def remove_folder(self, folder: str) -> None:
        """Forget a folder (after asking); its files are never touched."""
        if not self.confirm(
            "Remove folder from the library?",
            f"BitLens will forget {folder} and its photos' codes and tags.\n\nThe photos themselves stay where they are: no file is deleted or changed.",
        ):
            return
        self.indexing.cancel(folder)

        def removed(count: int) -> None:
            self.status.say(f"Removed {folder} from the library ({count:,} photos forgotten; the files are untouched).", 10000)
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
        if not self.overview.folders and not self.indexing.busy and not self.first_run.waiting:
            self._show_page(ops.ResultPage(query=query))
            return
        if query.empty:
            job = partial(ops.browse, query=query)
            lane = READ
        elif not self.has_model:
            self._show_page(ops.ResultPage(query=query, reason="no_model"))
            return
        else:
            job = partial(ops.search, query=query, device=self.library.device)
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
        if self.results.rowCount() > 0:
            self.stack.setCurrentWidget(self.grid)
            return
        message = empty_message(self.overview, self.last_page, busy=self.indexing.busy or bool(self.first_run.waiting))
        if message is not None:  # None: _query_failed has said what went wrong
            self._show_message(*message)

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
            self.preview.tag_photos(self.grid.selected_paths())
        elif refresh:
            self.preview.set_distance(distance, self.results.page.bits)

    def show_duplicates(self):
        """Open the near-duplicates review (it never deletes files)."""
        from .duplicates_view import DuplicatesDialog

        dialog = DuplicatesDialog(self.library, self.photo_actions.open_folder_of, self.status.say, self)
        dialog.show()
        dialog.start()
        return dialog

    def _focus_results(self) -> None:
        self.grid.setFocus()
        if not self.grid.currentIndex().isValid() and self.results.rowCount():
            self.grid.setCurrentIndex(self.results.index(0))

    # -- drops on the window ------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent | QDragMoveEvent) -> None:
        if might_carry_something(event.mimeData()):
            event.acceptProposedAction()

    dragMoveEvent = dragEnterEvent

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

        dialog = SettingsDialog(
            self.settings,
            self,
            open_library=self.library.root,
            runner=self.runner,
            backbone_in_use=self._backbone_in_use,
            change_model=lambda choice: self.model_change.ask(choice, self.overview.status if self.overview is not None else {}),
        )
        dialog.finished.connect(lambda _r: self._apply_settings())
        dialog.open()

    def _backbone_in_use(self) -> Optional[str]:
        model = self.overview.status.get("active_model") if self.overview is not None else None
        return model["backbone"] if model else None

    def open_training_wizard(self):
        return self.models_menu.open_training_wizard()

    def open_models(self):
        return self.models_menu.open_models()

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
        save_last_view(self.settings, self, self.search, self.sidebar)
        self.status.say("Stopping background work…")
        self.watch.stop()
        self.runner.shutdown(wait=True)
        super().closeEvent(event)

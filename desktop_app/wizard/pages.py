"""The five pages of the training wizard: Data, Model, Train, Evaluate, Activate."""

from __future__ import annotations

import html
import math
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from engine.jobs import ProgressEvent
from engine.models.config import HashingConfig
from engine.training.budget import default_epochs

from .. import operations as ops
from ..jobs import IO, READ, WRITE
from ..preview import SOURCE_NAMES
from . import operations as wops
from .charts import BarChart, LineChart

if TYPE_CHECKING:
    from .wizard import TrainingWizard

BITS = (16, 32, 64, 128)
DEFAULT_EPOCHS = 30


def duration(seconds: float) -> str:
    """ "about 40 s", "about 3 min", "about 1 h 20 min"."""
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {math.ceil(seconds)} s"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"about {hours} h {minutes} min"


def _note(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


class _Page(QWizardPage):
    def wiz(self) -> "TrainingWizard":
        return self.wizard()  # type: ignore[return-value]


# -- Data ---------------------------------------------------------------------------------------


class DataPage(_Page):
    """Which folders and which tag sources to learn from, with what they hold."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Data: what should search learn from?")
        self.setSubTitle("Pick the folders whose names and keywords describe their photos well, and where tags may come from.")
        self.overview = None
        self.folders = QListWidget()
        self.folders.setMaximumHeight(110)
        self.folders.itemChanged.connect(lambda _item: self.refresh())
        self.sources: dict[str, QCheckBox] = {}
        sources_box = QGroupBox("Tag sources")
        grid = QGridLayout(sources_box)
        for i, (source, words) in enumerate(SOURCE_NAMES.items()):
            box = QCheckBox("your own tags" if source == "user" else words)
            box.setChecked(True)
            box.toggled.connect(lambda _on: self.refresh())
            self.sources[source] = box
            grid.addWidget(box, i // 3, i % 3)
        self.numbers = _note("Counting…")
        self.chart = BarChart("Most frequent tags")
        self.warnings = _note()
        self.warnings.setStyleSheet("color: #a15c00;")
        self.warnings.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        left = QVBoxLayout()
        left.addWidget(QLabel("Folders"))
        left.addWidget(self.folders)
        left.addWidget(sources_box)
        left.addWidget(self.numbers)
        left.addWidget(self.warnings, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addWidget(self.chart, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self._count)

    def initializePage(self) -> None:
        if self.folders.count() == 0:
            self.wiz().runner.run_in_background(ops.load_overview, lane=READ, on_success=self._folders_loaded)

    def _folders_loaded(self, overview: ops.Overview) -> None:
        self.folders.blockSignals(True)
        for folder in overview.folders:
            item = QListWidgetItem(f"{folder.path}  ({folder.photos:,} photos)")
            item.setData(Qt.ItemDataRole.UserRole, folder.path)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.folders.addItem(item)
        self.folders.blockSignals(False)
        self.refresh()

    def choice(self) -> wops.DataChoice:
        items = [self.folders.item(i) for i in range(self.folders.count())]
        chosen = [i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Checked]
        # All folders ticked: no filter (also covers photos of folders added meanwhile).
        folders = [] if len(chosen) == len(items) else chosen
        return wops.DataChoice(folders=folders, sources=[s for s, box in self.sources.items() if box.isChecked()])

    def refresh(self) -> None:
        self.overview = None
        self.completeChanged.emit()
        self._timer.start()

    def _count(self) -> None:
        choice = self.choice()
        if (
            self.folders.count()
            and not choice.folders
            and not any(self.folders.item(i).checkState() == Qt.CheckState.Checked for i in range(self.folders.count()))
        ):
            self._show(None, "Tick at least one folder.")
            return
        self.wiz().runner.run_in_background(partial(wops.data_overview, choice=choice), lane=READ, key="wizard-data", on_success=self._show)

    def _show(self, overview, message: str = "") -> None:
        from engine.training.tag_stats import looks_like_camera, looks_like_date

        self.overview = overview
        if overview is None:
            self.numbers.setText(message)
            self.chart.set_bars([])
            self.warnings.setText("")
        else:
            self.numbers.setText(
                f"<b>{overview.photos:,}</b> photos · <b>{overview.tagged_photos:,}</b> with tags · "
                f"<b>{overview.usable_photos:,}</b> with tags training can use · <b>{overview.distinct_tags:,}</b> distinct tags "
                f"({overview.usable_tags:,} usable)"
            )
            odd = {t for t, _ in overview.top_tags if looks_like_date(t) or looks_like_camera(t)}
            self.chart.set_bars(overview.top_tags, highlight=odd)
            self.warnings.setText("<br>".join(f"⚠ {html.escape(w)}" for w in overview.warnings))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.overview is not None and self.overview.photos > 0

    def validatePage(self) -> bool:
        self.wiz().choice = self.choice()
        return True


# -- Model --------------------------------------------------------------------------------------


class ModelPage(_Page):
    """Backbone, code length, effort and device, with a measured time estimate."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Model: how to train")
        self.setSubTitle("Choose the code length, how much of the model to train, and where.")
        self.info: Optional[wops.ModelPageInfo] = None
        self.estimate_seconds: Optional[float] = None
        self.backbone = QComboBox()
        self.backbone_note = _note()
        self.bits = QComboBox()
        for bits in BITS:
            self.bits.addItem(f"{bits} bits", bits)
        self.bits.setCurrentIndex(BITS.index(64))
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(DEFAULT_EPOCHS)
        self.epochs.setToolTip("Passes over the photos. The default shrinks for a large library, so training takes about the same number of steps.")
        self._epochs_chosen = False  # the user's own number is kept when the data choice changes
        self.epochs.valueChanged.connect(self._epochs_edited)
        self.effort_group = QButtonGroup(self)
        effort_box = QGroupBox("Effort")
        effort_layout = QVBoxLayout(effort_box)
        self.effort_buttons: dict[str, QRadioButton] = {}
        self.effort_notes: dict[str, QLabel] = {}
        for effort in wops.EFFORT_ORDER:
            title, text = wops.EFFORT_TEXT[effort]
            button = QRadioButton(title)
            note = _note(f"<span style='color:gray'>{html.escape(text)}</span>")
            note.setContentsMargins(22, 0, 0, 4)
            self.effort_group.addButton(button)
            self.effort_buttons[effort] = button
            self.effort_notes[effort] = note
            effort_layout.addWidget(button)
            effort_layout.addWidget(note)
            button.toggled.connect(lambda _on: self._changed())
        self.effort_buttons["head"].setChecked(True)
        self.device = QComboBox()
        self.estimate_label = _note("")
        form = QFormLayout()
        form.addRow("Backbone", self.backbone)
        form.addRow("", self.backbone_note)
        form.addRow("Code length", self.bits)
        form.addRow("Epochs", self.epochs)
        form.addRow("Device", self.device)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(effort_box)
        layout.addWidget(self.estimate_label)
        layout.addStretch(1)
        for widget in (self.bits, self.device):
            widget.currentIndexChanged.connect(lambda _i: self._changed())
        self.epochs.valueChanged.connect(lambda _v: self._changed())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self._estimate)

    def initializePage(self) -> None:
        wizard = self.wiz()
        if wizard.default_epochs:
            self.epochs.setValue(wizard.default_epochs)
        elif not self._epochs_chosen and wizard.data_overview() is not None:
            self._set_epochs(default_epochs(wizard.data_overview().photos, HashingConfig.load(overrides=wizard.overrides).training))
        if self.info is None:
            self.estimate_label.setText("Looking at this computer…")
            wizard.runner.run_in_background(
                wops.model_page_info,
                lane=IO,
                on_success=self._info_loaded,
                on_failure=lambda e: self.estimate_label.setText(f"Could not inspect this computer: {e}"),
            )
        else:
            self._changed()

    def _info_loaded(self, info: wops.ModelPageInfo) -> None:
        self.info = info
        self.backbone.clear()
        self.backbone.addItem(info.backbone or "none: index some photos first")
        model = self.backbone.model()
        for other in info.others:
            self.backbone.addItem(f"{other}: weights on this computer")
            model.item(self.backbone.count() - 1).setEnabled(False)
        self.backbone_note.setText(
            "<span style='color:gray'>Training starts from the features this library was indexed with. "
            + (
                f"{len(info.others)} other backbone(s) have weights on this computer; using one means re-indexing the library with it first (Settings)."
                if info.others
                else "No other backbone has weights on this computer."
            )
            + "</span>"
        )
        if info.active_bits in BITS:
            self.bits.setCurrentIndex(BITS.index(info.active_bits))
        self.device.blockSignals(True)
        self.device.clear()
        for device, label in info.devices:
            self.device.addItem(label, device)
        self.device.blockSignals(False)
        for effort, button in self.effort_buttons.items():
            if effort not in info.efforts:
                button.setText(f"{wops.EFFORT_TEXT[effort][0]} (not available in this version)")
        self.completeChanged.emit()
        self._changed()

    def _set_epochs(self, epochs: int) -> None:
        self.epochs.blockSignals(True)
        self.epochs.setValue(epochs)
        self.epochs.blockSignals(False)

    def _epochs_edited(self, _value: int) -> None:
        self._epochs_chosen = True

    def effort(self) -> str:
        return next(e for e, b in self.effort_buttons.items() if b.isChecked())

    def _changed(self) -> None:
        self.estimate_seconds = None
        if self.info is None:
            return
        effort = self.effort()
        if effort not in self.info.efforts:
            self.estimate_label.setText(
                f"<b>This engine version cannot train the “{effort}” effort yet.</b> You may still try: the engine will say so on the next page."
            )
            return
        if effort != "head":
            self.estimate_label.setText("No estimate for this effort: the next page shows the time left, measured while it trains.")
            return
        self.estimate_label.setText("Estimating the time…")
        self._timer.start()

    def _estimate(self) -> None:
        info, overview = self.info, self.wiz().data_overview()
        if info is None or not info.dim or overview is None:
            self.estimate_label.setText("No estimate: the library has no features yet.")
            return
        device = self.device.currentData() or "auto"
        job = partial(
            wops.estimate,
            photos=max(overview.photos, 2),
            dim=info.dim,
            tokens=info.tokens_per_image,
            vocabulary=max(overview.usable_tags, 2),
            bits=self.bits.currentData(),
            epochs=self.epochs.value(),
            device=device,
            overrides=self.wiz().overrides,
        )
        self.wiz().runner.run_in_background(
            job,
            lane=IO,
            key="wizard-estimate",
            on_success=partial(self._estimated, self.device.currentText()),
            on_failure=lambda e: self.estimate_label.setText(f"No estimate: {e}"),
        )

    def _estimated(self, device_label: str, seconds: float) -> None:
        self.estimate_seconds = seconds
        self.estimate_label.setText(
            f"Estimated training time on {html.escape(device_label)}: <b>{duration(seconds)}</b> "
            "<span style='color:gray'>(timed on this computer with a few training steps of the same size; "
            "photos without cached features are encoded first and add to it)</span>"
        )

    def isComplete(self) -> bool:
        return self.info is not None and self.info.backbone is not None

    def validatePage(self) -> bool:
        wizard = self.wiz()
        wizard.request = wops.TrainRequest(
            bits=int(self.bits.currentData()),
            epochs=int(self.epochs.value()),
            effort=self.effort(),
            device=self.device.currentData() or "auto",
            choice=wizard.choice,
            overrides=wizard.overrides,
        )
        return True


# -- Train --------------------------------------------------------------------------------------


class TrainPage(_Page):
    """The live loss curve and validation scores; cancel; runs on while the wizard is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Train")
        self.setSubTitle("You can close this window: training goes on in the background, with its progress in the status bar.")
        self.loss_chart = LineChart("Training loss", "step", "loss")
        self.loss_chart.add_series("loss per step", "#9ecae1")
        self.loss_chart.add_series("epoch mean", "#1f77b4", markers=True)
        self.val_chart = LineChart("Validation on held-out photos", "epoch", "mAP")
        self.val_chart.add_series("photo → photo", "#2ca02c", markers=True)
        self.val_chart.add_series("tag → photo", "#ff7f0e", markers=True)
        self.val_chart.empty_text = "Scores appear after each epoch"
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)  # the line below says how far, in steps and time
        self.status = _note("")
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.clicked.connect(self._cancel)
        self.retry_button = QPushButton("Train again")
        self.retry_button.clicked.connect(self._start)
        charts = QHBoxLayout()
        charts.addWidget(self.loss_chart, 3)
        charts.addWidget(self.val_chart, 2)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.retry_button)
        layout = QVBoxLayout(self)
        layout.addLayout(charts, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.session = None
        self._epoch_steps: list[tuple[int, float]] = []

    def initializePage(self) -> None:
        wizard = self.wiz()
        session = wizard.session
        if session is not None and (session.running or (session.state == "ok" and session.request == wizard.request)):
            self._attach(session)  # the same run: show it, do not start another
        else:
            self._start()

    def _start(self) -> None:
        wizard = self.wiz()
        if wizard.session is not None and wizard.session.running:
            return
        self._attach(wizard.start_training())

    def _attach(self, session) -> None:
        if self.session is not None and self.session is not session:
            old = self.session
            old.step.disconnect(self._step)
            old.epoch.disconnect(self._epoch)
            old.progressed.disconnect(self._progress)
            old.ended.disconnect(self._ended)
        self.session = session
        self.loss_chart.set_points("loss per step", [(s, l) for s, l in session.steps])
        self.loss_chart.set_points("epoch mean", [])
        for name in ("photo → photo", "tag → photo"):
            self.val_chart.set_points(name, [])
        for record in session.epochs:
            self._epoch(record)
        session.step.connect(self._step)
        session.epoch.connect(self._epoch)
        session.progressed.connect(self._progress)
        session.ended.connect(self._ended)
        self._update_buttons()
        if session.running:
            self.status.setText("Preparing: reading features and tags…")
            if session.last_event is not None:
                self._progress(session.last_event)
        else:
            self._ended(session.state)

    def _step(self, step: int, loss: float) -> None:
        self.loss_chart.append("loss per step", step, loss)

    def _epoch(self, record: dict) -> None:
        steps = self.session.steps if self.session else []
        x = steps[-1][0] if steps else record["epoch"]
        self.loss_chart.append("epoch mean", x, record["loss"])
        if "val_image_map" in record:
            self.val_chart.append("photo → photo", record["epoch"], record["val_image_map"])
        if "val_text_map" in record:
            self.val_chart.append("tag → photo", record["epoch"], record["val_text_map"])

    def _progress(self, event: ProgressEvent) -> None:
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(min(event.done, event.total))
        else:
            self.progress.setRange(0, 0)
        data = event.data or {}
        if event.stage == "train":
            eta = data.get("eta_s")
            text = f"Training: {event.message}, step {event.done:,} of {event.total:,}, loss {data.get('loss', float('nan')):.4f}"
            if eta is not None:
                text += f" — {duration(eta)} left"
            self.status.setText(text)
        elif event.stage == "encode":
            self.status.setText(f"Caching photo features first: {event.done:,} of {event.total or 0:,}")
        elif event.stage != "epoch":
            self.status.setText(event.message or event.stage)

    def _ended(self, state: str) -> None:
        session = self.session
        self._update_buttons()
        if state == "ok":
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            last = session.epochs[-1] if session.epochs else {}
            first = session.epochs[0] if session.epochs else {}
            text = f"<b>Done</b> in {duration(session.ended_at - session.started_at)}."
            if first and last:
                text += f" Loss {first['loss']:.4f} → {last['loss']:.4f} over {len(session.epochs)} epoch(s)."
            self.status.setText(text + " Next: see whether search got better.")
        elif state == "failed":
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.status.setText(f"<b style='color:#b00020'>{html.escape(session.error)}</b>")
        elif state == "cancelled":
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.status.setText("<b>Training was cancelled.</b> Nothing changed: the current model stays active and search works as before.")
        self.completeChanged.emit()

    def _update_buttons(self) -> None:
        running = self.session is not None and self.session.running
        self.cancel_button.setVisible(running)
        self.retry_button.setVisible(not running and self.session is not None and self.session.state in ("failed", "cancelled"))

    def _cancel(self) -> None:
        if self.session is not None:
            self.session.cancel()
            self.status.setText("Cancelling…")

    def isComplete(self) -> bool:
        return self.session is not None and self.session.state == "ok"


# -- Evaluate -----------------------------------------------------------------------------------


class EvaluatePage(_Page):
    """Before/after retrieval quality on held-out tagged photos, a PR curve and example queries."""

    ROWS = (
        ("image_map", "Photo → photo mAP"),
        ("image_p10", "Photo → photo precision@10"),
        ("text_map", "Tag → photo mAP"),
        ("other_words_map", "Other words → photo"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Evaluate: did search get better?")
        self.setSubTitle("Scores on tagged photos that training held out (never seen while training).")
        self.evaluation = None
        self.failed = ""
        self.table = QTableWidget(len(self.ROWS), 3)
        self.table.setHorizontalHeaderLabels(["Before", "After", "Change"])
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setVerticalHeaderLabels([label for _, label in self.ROWS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeaderItem(len(self.ROWS) - 1).setToolTip(
            "Common words that are none of your tags: how closely search still follows CLIP's own ranking for them"
        )
        self.table.setMaximumHeight(160)
        self.pr_chart = LineChart("Precision–recall (photo → photo)", "recall", "precision")
        self.pr_chart.x_range = (0.0, 1.0)
        self.pr_chart.y_range = (0.0, 1.0)
        self.pr_chart.empty_text = "Evaluating…"
        self.examples = QTableWidget(0, 3)
        self.examples.setHorizontalHeaderLabels(["Your tag as a query", "Before: first results", "After: first results"])
        self.examples.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.examples.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.examples.setWordWrap(False)
        self.examples.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.examples.verticalHeader().setVisible(False)
        self.note = _note("")
        left = QVBoxLayout()
        left.addWidget(self.table)
        left.addWidget(self.examples, 1)
        top = QHBoxLayout()
        top.addLayout(left, 3)
        top.addWidget(self.pr_chart, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addWidget(self.note)
        self._evaluated_for: Optional[int] = None

    def initializePage(self) -> None:
        session = self.wiz().session
        if session is None or session.model_id is None or self._evaluated_for == session.model_id:
            return
        self._evaluated_for = session.model_id
        self.evaluation, self.failed = None, ""
        self.pr_chart.clear()
        self.note.setText("Scoring the old and the new model on the held-out photos…")
        self.completeChanged.emit()
        job = partial(wops.evaluate, model_id=session.model_id, previous_id=session.previous_id, choice=session.request.choice)
        self.wiz().runner.run_in_background(job, lane=IO, label="Evaluating the new model", on_success=self._show, on_failure=self._failed)

    def _failed(self, error: BaseException) -> None:
        self.failed = str(error)
        self.note.setText(f"<b>The evaluation did not work:</b> {html.escape(str(error))}. You can still activate the model.")
        self.completeChanged.emit()

    def _show(self, evaluation) -> None:
        self.evaluation = evaluation
        session = self.wiz().session
        after = evaluation.by_id(session.model_id)
        before = evaluation.by_id(session.previous_id) if session.previous_id is not None else None
        self.table.setHorizontalHeaderLabels(["Before (current model)", "After (new model)", "Change"])
        self.table.horizontalHeaderItem(0).setToolTip(before.name if before else "no model")
        self.table.horizontalHeaderItem(1).setToolTip(after.name)
        for row, (key, _label) in enumerate(self.ROWS):
            new = getattr(after, key)
            old = getattr(before, key) if before else None
            cells = ("—" if old is None else f"{old:.3f}", f"{new:.3f}", "—" if old is None else f"{new - old:+.3f}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if column == 2 and old is not None:
                    item.setForeground(Qt.GlobalColor.darkGreen if new > old else Qt.GlobalColor.darkRed if new < old else Qt.GlobalColor.gray)
                self.table.setItem(row, column, item)
        self.pr_chart.clear()
        for scores, color, name in ((before, "#7f7f7f", "before"), (after, "#1f77b4", "after")):
            if scores is not None:
                points = [(r, p) for r, p in zip(scores.recall, scores.precision) if not math.isnan(p)]
                self.pr_chart.set_points(f"{name} ({scores.bits} bits)", points, color=color, dashed=name == "before")
        self.examples.setRowCount(len(evaluation.examples))
        for row, example in enumerate(evaluation.examples):
            self.examples.setItem(row, 0, QTableWidgetItem(example["tag"]))
            for column, model_id in ((1, session.previous_id), (2, session.model_id)):
                results = example["results"].get(model_id, [])
                text = "\n".join(f"{'✓' if hit else '✗'} {Path(path).name}" for path, hit in results) or "—"
                self.examples.setItem(row, column, QTableWidgetItem(text))
        self.examples.resizeRowsToContents()
        self.note.setText(
            f"Before: {html.escape(before.name) if before else 'no model'}. After: {html.escape(after.name)}.<br>"
            f"{evaluation.held_out:,} held-out photos queried {evaluation.database:,} training photos; {evaluation.tag_queries:,} of your tags "
            "ranked the held-out photos. ✓ = the photo carries the tag. Tags are your own labels, so these numbers say how well search agrees with them; "
            "<i>other words</i> are 50 common words that are none of your tags, scored by how closely search follows CLIP's own ranking for them."
            + (f"<br><b>{verdict(before, after)}</b>" if before is not None else "")
        )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.evaluation is not None or bool(self.failed)


def verdict(before, after, margin: float = 0.01) -> str:
    """One plain sentence: what the new model does for the user's tags and for other words."""

    def change(key: str) -> str:
        delta = getattr(after, key) - getattr(before, key)
        return "better" if delta > margin else "worse" if delta < -margin else "about the same"

    tags, words = change("text_map"), change("other_words_map")
    return f"The new model is {tags} for your tags and {words} for other words."


# -- Activate -----------------------------------------------------------------------------------


class ActivatePage(_Page):
    """Re-hash the library with the new model; search uses the old codes until all are written."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Activate")
        self.setSubTitle("Switch search to the new model. Until every photo has its new code, search keeps using the current one.")
        self.explain = _note()
        self.activate_button = QPushButton("Activate the new model")
        self.activate_button.clicked.connect(self.activate)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = _note("")
        self.activated = False
        self.job = None
        row = QHBoxLayout()
        row.addWidget(self.activate_button)
        row.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explain)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.setFinalPage(True)

    def initializePage(self) -> None:
        session = self.wiz().session
        self.explain.setText(
            "Activating writes a new code for every photo in the background (the photos themselves are not touched). "
            "You can keep searching meanwhile. If you finish without activating, the model stays in <b>Models…</b> "
            "and can be activated, renamed or deleted there."
            + (f"<br><br>New model: <b>{session.request.bits} bits</b>, trained for {len(session.epochs)} epoch(s)." if session else "")
        )

    def activate(self) -> None:
        session = self.wiz().session
        if session is None or session.model_id is None or self.job is not None:
            return
        self.activate_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText("Writing the new codes…")
        self.job = self.wiz().runner.run_in_background(
            partial(wops.activate, model_id=session.model_id),
            lane=WRITE,
            label="Activating the new model",
            show_progress=True,
            on_progress=self._progress,
            on_success=self._done,
            on_failure=self._failed,
            on_finished=self._finished,
        )

    def _progress(self, event: ProgressEvent) -> None:
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(min(event.done, event.total))

    def _done(self, model_id: int) -> None:
        self.activated = True
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setText("<b>The new model is active.</b> Search now uses it.")
        self.wiz().model_activated.emit(model_id)

    def _failed(self, error: BaseException) -> None:
        self.status.setText(f"<b style='color:#b00020'>Activation failed:</b> {html.escape(str(error))}. The previous model is still active.")

    def _finished(self, job) -> None:
        self.job = None
        if job.outcome == "cancelled":
            self.status.setText("Activation was cancelled; the previous model is still active (codes written so far are kept for next time).")
        if not self.activated:
            self.activate_button.setEnabled(True)
            self.progress.setVisible(False)

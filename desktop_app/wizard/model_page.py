"""The wizard's Model page: code length, epochs, effort and device, with a measured time estimate."""

from __future__ import annotations

import html
from functools import partial
from typing import Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from engine.facade import HashingConfig, default_epochs, default_keep, keep_overrides

from ..jobs import IO
from . import operations as wops
from .page_text import duration, rich_label
from .plan import TrainingPlan

BITS = (16, 32, 64, 128)
# what training keeps of the backbone's own sense of which photos look alike (engine KEEP_LEVELS)
KEEP_CHOICES = (
    ("tags", "Follow my tags"),
    ("balanced", "Balance my tags and the backbone"),
    ("backbone", "Keep what the backbone knows"),
)
KEEP_NOTE = (
    "How much training keeps the backbone's own sense of which photos look alike. Keeping more helps words "
    "that name what no folder or tag mentions (butterflies in a “Camera Roll”). It usually costs some accuracy on "
    "your own tag words, except with 16- or 32-bit codes in a library tagged only by folder names, where it helps "
    "them too. The Evaluate page shows both."
)
DEFAULT_EPOCHS = 30


def with_note(field: QWidget, note: QLabel) -> QWidget:
    """A form field with its explanation right under it (a wrapped label as a form row of its
    own gets the height of a narrow one, with blank lines around it)."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    column.addWidget(field)
    column.addWidget(note)
    return box


class ModelPage(QWizardPage):
    """Backbone, code length, effort and device, with a measured time estimate."""

    def __init__(self, plan: TrainingPlan) -> None:
        super().__init__()
        self.plan = plan
        self.setTitle("Model: how to train")
        self.setSubTitle("Choose the code length, how much of the model to train, and where.")
        self.info: Optional[wops.ModelPageInfo] = None
        self.estimate_seconds: Optional[float] = None
        self.backbone = QComboBox()
        self.backbone_note = rich_label()
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
            note = rich_label(f"<span style='color:gray'>{html.escape(text)}</span>")
            note.setContentsMargins(22, 0, 0, 4)
            self.effort_group.addButton(button)
            self.effort_buttons[effort] = button
            self.effort_notes[effort] = note
            effort_layout.addWidget(button)
            effort_layout.addWidget(note)
            button.toggled.connect(lambda _on: self._changed())
        self.effort_buttons["head"].setChecked(True)
        self.keep = QComboBox()
        for level, text in KEEP_CHOICES:
            self.keep.addItem(text, level)
        self.keep.setCurrentIndex(self.keep.findData(default_keep(plan.overrides)))  # what the config says
        self.keep.setToolTip(KEEP_NOTE)
        self.keep_note = rich_label(f"<span style='color:gray'>{html.escape(KEEP_NOTE)}</span>")
        self.device = QComboBox()
        self.estimate_label = rich_label("")
        form = QFormLayout()
        form.addRow("Backbone", with_note(self.backbone, self.backbone_note))
        form.addRow("Code length", self.bits)
        form.addRow("Epochs", self.epochs)
        form.addRow("Words that are no tag", with_note(self.keep, self.keep_note))
        form.addRow("Device", self.device)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(effort_box)
        layout.addWidget(self.estimate_label)
        layout.addStretch(1)
        # On a small screen the page scrolls rather than squeezing its notes into one line.
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        for widget in (self.bits, self.device, self.keep):
            widget.currentIndexChanged.connect(lambda _i: self._changed())
        self.epochs.valueChanged.connect(lambda _v: self._changed())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self._estimate)

    def initializePage(self) -> None:
        if self.plan.default_epochs:
            self.epochs.setValue(self.plan.default_epochs)
        elif not self._epochs_chosen and self.plan.data_overview is not None:
            self._set_epochs(default_epochs(self.plan.data_overview.photos, HashingConfig.load(overrides=self.plan.overrides).training))
        if self.info is None:
            self.estimate_label.setText("Looking at this computer…")
            self.plan.runner.run_in_background(
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

    def overrides(self) -> dict:
        """The plan's config overrides with the chosen keep level."""
        return keep_overrides(self.keep.currentData(), self.plan.overrides)

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
        info, overview = self.info, self.plan.data_overview
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
            overrides=self.overrides(),
        )
        self.plan.runner.run_in_background(
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
        self.plan.request = wops.TrainRequest(
            bits=int(self.bits.currentData()),
            epochs=int(self.epochs.value()),
            effort=self.effort(),
            device=self.device.currentData() or "auto",
            choice=self.plan.choice,
            overrides=self.overrides(),
        )
        return True

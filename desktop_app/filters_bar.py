"""The row under the search bar: tag, date and type filters, the closeness cutoff and the sort order."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QSlider, QWidget

from engine.search.cutoff import default_radius
from engine.search.filters import FilterError, Filters, parse_date

TYPES = (("Any type", ()), ("JPEG", ("jpg",)), ("PNG", ("png",)), ("HEIC", ("heic",)), ("WebP", ("webp",)), ("TIFF", ("tif",)), ("GIF", ("gif",)))
SORTS = (("Best match", "distance"), ("Newest first", "date"), ("Oldest first", "date-asc"))
EDIT_PAUSE_MS = 400
_BAD = "QLineEdit { border: 1px solid #c0392b; }"


class FiltersBar(QWidget):
    """Emits `changed` when what narrows or orders the results changes (typing is debounced)."""

    changed = Signal()

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.bits = 64
        self.tags = QLineEdit(self)
        self.tags.setPlaceholderText("Tags (comma-separated)")
        self.tags.setToolTip("Only photos with every one of these tags")
        self.after = QLineEdit(self)
        self.after.setPlaceholderText("From YYYY-MM")
        self.after.setToolTip("Only photos taken on or after this date (YYYY, YYYY-MM or YYYY-MM-DD); file date if none was recorded")
        self.before = QLineEdit(self)
        self.before.setPlaceholderText("Before YYYY-MM")
        self.before.setToolTip("Only photos taken before this date")
        for edit in (self.after, self.before):
            edit.setMaximumWidth(120)
        self.type = QComboBox(self)
        for label, values in TYPES:
            self.type.addItem(label, values)
        self.type.setToolTip("Only photos of this file type")
        self.cutoff = QCheckBox("Close matches only", self)
        self.cutoff.setToolTip("Hide photos whose code is farther from the query than the slider says, so “no good match” can be the answer")
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, self.bits)
        self.default = default_radius(self.bits)
        self.slider.setValue(self.default)
        self.slider.setEnabled(False)
        self.slider.setMaximumWidth(140)
        self.slider.setToolTip("How close a photo's code must be to the query: left is stricter (fewer bits may differ)")
        self.radius_label = QLabel(self)
        self.sort = QComboBox(self)
        for label, value in SORTS:
            self.sort.addItem(label, value)
        self.sort.setToolTip("Order of the results: best match first, or by date taken")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(6)
        for widget in (self.tags, self.after, self.before, self.type, self.cutoff, self.slider, self.radius_label, self.sort):
            layout.addWidget(widget)
        layout.addStretch(1)
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(EDIT_PAUSE_MS)
        self._pause.timeout.connect(self._edited)
        for edit in (self.tags, self.after, self.before):
            edit.textEdited.connect(lambda _text: self._pause.start())
            edit.returnPressed.connect(self._edited)
        self.type.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.sort.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.cutoff.toggled.connect(self._cutoff_toggled)
        self.slider.valueChanged.connect(self._slid)
        self._update_label()

    # -- what the user chose ---------------------------------------------------------------

    def filters(self) -> Filters:
        """The valid filters (a date that does not parse is left out and marked red)."""
        tags = tuple(t.strip() for t in self.tags.text().split(",") if t.strip())
        return Filters(tags=tags, after=self._date(self.after), before=self._date(self.before), types=tuple(self.type.currentData() or ()))

    def radius(self) -> Optional[int]:
        return self.slider.value() if self.cutoff.isChecked() else None

    def sort_order(self) -> str:
        return str(self.sort.currentData())

    def set_bits(self, bits: Optional[int], default: Optional[int] = None) -> None:
        """Fit the slider to the active model: its code length and its default radius (when they change)."""
        default = default_radius(bits) if bits and default is None else default
        if not bits or (bits == self.bits and default == self.default):
            return
        self.bits, self.default = bits, default
        self.slider.blockSignals(True)
        self.slider.setRange(0, bits)
        self.slider.setValue(default)
        self.slider.blockSignals(False)
        self._update_label()

    # -- reacting --------------------------------------------------------------------------

    def _date(self, edit: QLineEdit) -> Optional[str]:
        text = edit.text().strip()
        if not text:
            edit.setStyleSheet("")
            return None
        try:
            parse_date(text)
        except FilterError as error:
            edit.setStyleSheet(_BAD)
            edit.setToolTip(str(error))
            return None
        edit.setStyleSheet("")
        return text

    def _edited(self) -> None:
        self._pause.stop()
        self.changed.emit()

    def _cutoff_toggled(self, on: bool) -> None:
        self.slider.setEnabled(on)
        self._update_label()
        self.changed.emit()

    def _slid(self, _value: int) -> None:
        self._update_label()
        if self.cutoff.isChecked():
            self.changed.emit()

    def _update_label(self) -> None:
        value = self.slider.value()
        mark = " (default)" if value == self.default else ""
        self.radius_label.setText(f"≤ {value} of {self.bits} bits{mark}" if self.cutoff.isChecked() else "")

"""The row under the search bar: tag, date and type filters, the closeness cutoff and the sort order."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QSlider, QWidget

from engine.facade import FilterError, Filters, default_radius, parse_date

from .flow_layout import FlowLayout
from .style import FIELD_FRAME

TYPES = (("Any type", ()), ("JPEG", ("jpg",)), ("PNG", ("png",)), ("HEIC", ("heic",)), ("WebP", ("webp",)), ("TIFF", ("tif",)), ("GIF", ("gif",)))
SORTS = (("Best match", "distance"), ("Newest first", "date"), ("Oldest first", "date-asc"))
EDIT_PAUSE_MS = 400
_BAD = "QLineEdit { border: 1px solid #c0392b; border-radius: 3px; padding: 2px 4px; }"


class FiltersBar(QWidget):
    """Emits `changed` when what narrows or orders the results changes (typing is debounced)."""

    changed = Signal()

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.bits = 64
        self.tags = QLineEdit(self)
        self.tags.setPlaceholderText("Tags (comma-separated)")
        self.tags.setToolTip("Only photos with every one of these tags")
        from .tag_completion import TagCompleter

        self.tag_completer = TagCompleter(self.tags, lists=True)
        self.tag_completer.activated.connect(lambda _text: self._edited())  # a picked tag filters at once
        self.after = QLineEdit(self)
        self.after.setPlaceholderText("From YYYY-MM")
        self.after.setToolTip(
            "Only photos taken on or after this date (YYYY, YYYY-MM or YYYY-MM-DD); without a recorded date, one in the file or folder name, else the file's time"
        )
        self.before = QLineEdit(self)
        self.before.setPlaceholderText("Before YYYY-MM")
        self.before.setToolTip("Only photos taken before this date")
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
        self.slider.setFixedWidth(110)
        self.slider.setToolTip("How close a photo's code must be to the query: left is stricter (fewer bits may differ)")
        self.radius_label = QLabel(self)
        self.sort = QComboBox(self)
        for label, value in SORTS:
            self.sort.addItem(label, value)
        self.sort.setToolTip("Order of the results: best match first, or by date taken")
        self._fit_widths()
        # The slider and its label travel together, so a wrap never separates them.
        closeness = QWidget(self)
        row = QHBoxLayout(closeness)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        for widget in (self.slider, self.radius_label):
            row.addWidget(widget)
        # Wraps onto more lines rather than squeezing the fields when the window is narrow.
        layout = FlowLayout(self, spacing=6)
        layout.setContentsMargins(0, 2, 0, 2)
        for widget in (self.tags, self.after, self.before, self.type, self.sort, self.cutoff, closeness):
            layout.addWidget(widget)
        policy = self.sizePolicy()
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setStyleSheet(FIELD_FRAME)  # visible on a dark palette too
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

    def _fit_widths(self) -> None:
        """Room for every placeholder, and one fixed width for the cutoff's label whatever it says."""
        metrics = self.fontMetrics()
        frame = 24  # the field's frame and inner margins, with a little air
        self.tags.setMinimumWidth(max(200, metrics.horizontalAdvance(self.tags.placeholderText()) + frame))
        for edit in (self.after, self.before):
            edit.setFixedWidth(max(metrics.horizontalAdvance(self.after.placeholderText()), metrics.horizontalAdvance(self.before.placeholderText())) + frame)
        # The widest text the label can show: dragging the slider must not move anything.
        self.radius_label.setFixedWidth(metrics.horizontalAdvance("≤ 128 of 128 bits (default)") + 4)

    # -- what the user chose ---------------------------------------------------------------

    def filters(self) -> Filters:
        """The valid filters (a date that does not parse is left out and marked red)."""
        tags = tuple(t.strip() for t in self.tags.text().split(",") if t.strip())
        return Filters(tags=tags, after=self._date(self.after), before=self._date(self.before), types=tuple(self.type.currentData() or ()))

    def radius(self) -> Optional[int]:
        return self.slider.value() if self.cutoff.isChecked() else None

    def sort_order(self) -> str:
        return str(self.sort.currentData())

    def set_formats(self, formats: list[str]) -> None:
        """Offer only the file types the library has (Pillow format names); keeps the choice if still there."""
        from engine.facade import TYPE_ALIASES

        present = {name.upper() for name in formats}
        if "MPO" in present:
            present.add("JPEG")  # a phone's JPEG with a depth map is still a JPEG to its owner
        wanted = [(label, values) for label, values in TYPES[1:] if any(TYPE_ALIASES.get(v, v.upper()) in present for v in values)]
        covered = {TYPE_ALIASES.get(v, v.upper()) for _label, values in TYPES[1:] for v in values} | {"MPO"}  # MPO: a phone's JPEG
        wanted += [(name, (name.lower(),)) for name in sorted(present - covered)]
        current = self.type.currentData()
        self.type.blockSignals(True)
        self.type.clear()
        for label, values in [TYPES[0], *wanted]:
            self.type.addItem(label, values)
        kept = next((i for i in range(self.type.count()) if tuple(self.type.itemData(i) or ()) == tuple(current or ())), -1)
        self.type.setCurrentIndex(max(0, kept))
        self.type.blockSignals(False)
        if current and kept < 0:
            self.changed.emit()  # the chosen type left the library: the filter is off now

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

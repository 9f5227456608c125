"""The preview pane: a larger picture and what the library knows of the photo."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from . import operations as ops
from .jobs import READ, THUMBS, JobRunner
from .tag_editor import TagEditor
from .text_overlay import draw_text_boxes, format_text
from .thumbnails import load_scaled

PREVIEW_SIDE = 1024  # decoded size: sharp in a wide pane, cheap to decode with JPEG draft mode
SOURCE_NAMES = {
    "folder": "folder name",
    "filename": "file name",
    "xmp": "XMP",
    "iptc": "IPTC",
    "sidecar": "sidecar file",
    "user": "you",
    "ocr": "text in the photo",
}


def human_size(count: Optional[int]) -> str:
    """Bytes as a short human figure (1.2 MB)."""
    if count is None:
        return "?"
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{count} bytes"


def format_tags(tags: list[dict]) -> str:
    """Tags grouped by tag, each with the sources it came from, as rich text."""
    by_tag: dict[str, list[str]] = {}
    for entry in tags:
        by_tag.setdefault(entry["tag"], []).append(SOURCE_NAMES.get(entry["source"], entry["source"]))
    if not by_tag:
        return "<i>none</i>"
    return "<br>".join(
        f"<b>{html.escape(tag)}</b> <span style='color:gray'>({html.escape(', '.join(sources))})</span>"
        for tag, sources in sorted(by_tag.items(), key=lambda kv: kv[0].lower())
    )


def describe_date(details: dict) -> str:
    """When the photo was taken, and where that date came from when not from the photo itself."""
    shown = details.get("date_shown") or (details.get("date_taken") or "").replace("T", " ")
    if not shown:
        return "unknown"
    source = details.get("date_source")
    if source and source != "photo's metadata":
        return f"{shown} <span style='color:gray'>(from the {html.escape(source)})</span>"
    return shown


class ImageLabel(QLabel):
    """Shows a picture scaled to fit, keeping its proportions as the pane resizes."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._pixmap: Optional[QPixmap] = None
        self._text_lines: list[dict] = []  # OCR lines outlined over the picture
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 120)
        # As tall as the picture needs at the pane's width, so the details sit right below it.
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_image(self, pixmap: Optional[QPixmap]) -> None:
        self._pixmap = pixmap
        self.updateGeometry()
        self._rescale()

    def set_text_lines(self, lines: list[dict]) -> None:
        """Outline these lines of text (boxes as fractions of the picture) over the picture."""
        self._text_lines = list(lines)
        self._rescale()

    def sizeHint(self) -> QSize:
        return QSize(320, self.heightForWidth(320))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if self._pixmap is None or self._pixmap.isNull() or not self._pixmap.width():
            return 240
        shown = min(width, 2 * self._pixmap.width())
        return min(max(120, round(shown * self._pixmap.height() / self._pixmap.width())), 720)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is None or self._pixmap.isNull():
            if self.pixmap() is not None and not self.pixmap().isNull():
                self.setPixmap(QPixmap())  # note: this would also clear a placeholder text
            return
        # Fit the pane, enlarging small pictures at most twice (more only shows blur).
        limit = QSize(2 * self._pixmap.width(), 2 * self._pixmap.height())
        target = self.size().boundedTo(limit)
        scaled = self._pixmap.scaled(target, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(draw_text_boxes(scaled, self._text_lines) if self._text_lines else scaled)


class PreviewPane(QWidget):
    """Shows the current photo: picture, path, tags with sources, date, camera, size, distance."""

    def __init__(self, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.path: Optional[str] = None
        self.details: Optional[dict] = None
        self.image = ImageLabel(self)
        self.image.setWordWrap(True)  # the placeholder fits a narrow pane
        self.name = QLabel(self)
        self.name.setStyleSheet("font-weight: 600; font-size: 13pt;")
        self.name.setWordWrap(True)
        self.path_label = self._value()
        self.distance = self._value()
        self.date = self._value()
        self.camera = self._value()
        self.size_label = self._value()
        self.tags = self._value()
        self.tags.setTextFormat(Qt.TextFormat.RichText)
        self.photo_text = self._value()
        self.photo_text.setTextFormat(Qt.TextFormat.RichText)
        self.status = self._value()
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        rows = (
            ("Distance", self.distance),
            ("Path", self.path_label),
            ("Taken", self.date),
            ("Camera", self.camera),
            ("Size", self.size_label),
            ("Tags", self.tags),
            ("Text in photo", self.photo_text),
            ("Status", self.status),
        )
        for label, widget in rows:
            form.addRow(f"<span style='color:gray'>{label}</span>", widget)
        self._form = form
        details = QWidget(self)
        inner = QVBoxLayout(details)
        inner.setContentsMargins(8, 4, 8, 8)
        inner.addWidget(self.name)
        inner.addLayout(form)
        self.tag_editor = TagEditor(runner, details)
        self.tag_editor.changed.connect(self._reload_details)
        inner.addWidget(self.tag_editor)
        from .tag_suggestions import SuggestionsBox

        self.suggestions = SuggestionsBox(runner, details)
        self.suggestions.tags_changed.connect(self._reload_details)
        inner.addWidget(self.suggestions)
        inner.addStretch(1)
        scroll = self.details_area = QScrollArea(self)
        scroll.setWidget(details)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.image)
        layout.addWidget(scroll, 1)
        self.show_photo(None)

    @staticmethod
    def _value() -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setMinimumWidth(40)
        return label

    def show_photo(self, path: Optional[str], distance: Optional[int] = None, bits: Optional[int] = None) -> None:
        """Show a photo (None: the pane says how to pick one); loads picture and details off the GUI thread."""
        self.path, self.details = path, None
        for label in (self.path_label, self.date, self.camera, self.size_label, self.tags, self.photo_text, self.status):
            label.setText("")
        self._set_row_visible(self.status, False)
        self._set_row_visible(self.photo_text, False)
        self.image.set_text_lines([])
        self.tag_editor.set_photos([path] if path else [])
        self.details_area.setVisible(path is not None)
        self.layout().setStretchFactor(self.image, 1 if path is None else 0)  # placeholder text centred
        if path is None:
            self.suggestions.show_for(None)
            self.image.set_image(None)
            self.image.setText("Select a photo to see it here")
            self.name.setText("")
            return
        if self.image.text():
            self.image.setText("")  # (keeps the previous picture up until the new one is decoded)
        self.name.setText(Path(path).name)
        self.path_label.setText(path)
        self.set_distance(distance, bits)
        self.runner.run_in_background(
            lambda ctx: load_scaled(path, PREVIEW_SIDE), lane=THUMBS, key="preview-image", on_success=self._image_loaded, on_failure=self._image_failed
        )
        self._reload_details()
        self.suggestions.show_for(path)

    def set_distance(self, distance: Optional[int], bits: Optional[int] = None) -> None:
        """The photo's distance to the current query; no row at all when there is no query."""
        self._set_row_visible(self.distance, distance is not None)
        self.distance.setText("" if distance is None else f"{distance} of {bits} bits differ from the query" if bits else str(distance))

    def tag_photos(self, selected: list[str]) -> None:
        """With several photos selected, "Your tags" adds to and removes from all of them."""
        editor = self.tag_editor
        if len(selected) > 1 and selected != editor.paths:
            editor.set_photos(selected)
            if self.details is not None:  # the chips stay the current photo's
                editor.set_user_tags([t["tag"] for t in self.details.get("tags", []) if t["source"] == "user"])
        elif len(selected) <= 1 and len(editor.paths) > 1:
            editor.set_photos([self.path] if self.path else [])
            self._reload_details()

    def _reload_details(self, path: Optional[str] = None) -> None:
        """Show the photo's tags again (after a tag edit or an accepted suggestion)."""
        path = self.path if path is None else path
        if path is not None and path == self.path:
            self.runner.run_in_background(lambda ctx: ops.photo_details(ctx, path), lane=READ, key="preview-details", on_success=self._details_loaded)

    def _image_loaded(self, image: QImage) -> None:
        self.image.set_image(QPixmap.fromImage(image))

    def _image_failed(self, error: BaseException) -> None:
        self.image.set_image(None)
        self.image.setText(f"Cannot show this file:\n{error}")

    def _details_loaded(self, details: Optional[dict]) -> None:
        self.details = details
        if details is None:
            self.status.setText("not in the library (any more)")
            self._set_row_visible(self.status, True)
            return
        self.date.setText(describe_date(details))
        camera = " ".join(part for part in (details.get("camera_make"), details.get("camera_model")) if part)
        self.camera.setText(camera or "unknown")
        dims = f"{details['width']} × {details['height']}" if details.get("width") else "?"
        self.size_label.setText(f"{dims} {details.get('format') or ''}, {human_size(details.get('size'))}".strip())
        self.tags.setText(format_tags(details.get("tags", [])))
        lines = details.get("text", [])
        self.photo_text.setText(format_text(lines))
        self._set_row_visible(self.photo_text, bool(lines))
        self.image.set_text_lines(lines)
        self.tag_editor.set_user_tags([t["tag"] for t in details.get("tags", []) if t["source"] == "user"])
        if details.get("status") != "ok":
            self.status.setText(f"{details.get('status')}: {details.get('error') or ''}".strip(": "))
            self._set_row_visible(self.status, True)

    def _set_row_visible(self, field: QWidget, visible: bool) -> None:
        self._form.setRowVisible(field, visible)

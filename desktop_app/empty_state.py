"""The message shown instead of the grid when there is nothing to show, and what to do next."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from .operations import Overview, ResultPage

CARD_WIDTH = 520
MIN_CARD_WIDTH = 260

BUTTON_TIPS = {  # what the card's button does, by its action
    "add": "Choose a photo folder to add (it is only read, never changed)",
    "rescan": "Look for photos in every library folder again and index them",
    "all": "Clear the search and the folder filter and show every photo",
}


class EmptyState(QWidget):
    """A title, a sentence saying what to do next, and at most one action button."""

    action = Signal(str)  # the action's name, as given to set_message

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._action = ""
        # A fixed-width card: a word-wrapped label only gets the right height when its
        # width is settled by the layout rather than by its own size hint.
        card = self._card = QWidget(self)
        card.setFixedWidth(CARD_WIDTH)
        self.setMinimumWidth(MIN_CARD_WIDTH + 24)  # a narrow window narrows the card (resizeEvent)
        self.title = QLabel(card)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-size: 18pt; font-weight: 600;")
        self.text = QLabel(card)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        self.text.setStyleSheet("font-size: 11pt; color: palette(placeholder-text);")
        self.button = QPushButton(card)
        self.button.setMinimumHeight(34)
        self.button.clicked.connect(lambda: self.action.emit(self._action))
        inner = QVBoxLayout(card)
        inner.addWidget(self.title)
        inner.addSpacing(8)
        inner.addWidget(self.text)
        inner.addSpacing(16)
        inner.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def set_message(self, title: str, text: str, button: str = "", action: str = "") -> None:
        self.title.setText(title)
        self.text.setText(text)
        self._fit_text()
        self._action = action
        self.button.setText(button)
        self.button.setToolTip(BUTTON_TIPS.get(action, ""))
        self.button.setVisible(bool(button))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = max(MIN_CARD_WIDTH, min(CARD_WIDTH, self.width() - 24))
        if width != self._card.width():
            self._card.setFixedWidth(width)
            self._fit_text()

    def _fit_text(self) -> None:
        # Word-wrapped labels inside an aligned widget get their one-line height: give them room.
        margins = self._card.layout().contentsMargins()
        width = self._card.width() - margins.left() - margins.right()
        for label in (self.title, self.text):
            label.setMinimumHeight(label.heightForWidth(width) if label.text() else 0)


def empty_message(overview: Optional["Overview"], page: Optional["ResultPage"], busy: bool) -> Optional[tuple[str, str, str, str]]:
    """What to say when the grid is empty: title, text, button and its action; None to leave the message as it is.

    `busy`: folders are being indexed or wait for a model.
    """
    if overview is None:
        return ("Opening the library…", "", "", "")
    if not overview.folders and not busy:
        return (
            "Drop photo folders here",
            "Drag folders from your file manager onto this window, or add one. BitLens reads them to build its index; "
            "it never changes, moves or deletes your photos.",
            "Add folder…",
            "add",
        )
    if busy and (page is None or not page.ids):
        return ("Indexing…", "Photos appear here as they are found; searching works as soon as the first folder is indexed.", "", "")
    if page is not None and page.reason == "no_model":
        return ("Not indexed yet", "Index a folder to search it: re-scan the library, or add a folder.", "Re-scan now", "rescan")
    if page is not None and page.reason == "error":
        return None  # the failed search has said what went wrong
    if page is not None and page.query.radius is not None and not page.query.empty:
        return (
            "No close match",
            f"No photo is within {page.query.radius} bits of this query. Move the closeness slider right, "
            "or turn off “Close matches only”, to see the nearest ones anyway.",
            "",
            "",
        )
    if page is not None and page.query.folder and page.query.empty:
        return (
            "No photos in this folder",
            "The folder has no photos BitLens can read, or they are missing. Re-scan if you added some.",
            "Re-scan now",
            "rescan",
        )
    return (
        "No photos match",
        "Try other words, choose “All photos” in the sidebar, or drop an example photo on the search bar.",
        "Show all photos",
        "all",
    )

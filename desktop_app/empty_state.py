"""The message shown instead of the grid when there is nothing to show, and what to do next."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

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

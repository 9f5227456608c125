"""Completion of tag names as the user types, in the tag filter (a comma-separated list) and the tag editor."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget


class TagCompleter(QCompleter):
    """Completes the tag being typed; with `lists`, the last one of a comma-separated list."""

    def __init__(self, field: QLineEdit, lists: bool = False, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent or field)
        self.lists = lists
        self.names = QStringListModel(self)
        self.setModel(self.names)
        self.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setMaxVisibleItems(12)
        field.setCompleter(self)

    def set_tags(self, names: list[str]) -> None:
        """The library's tag names, most used first."""
        self.names.setStringList(names)

    def splitPath(self, path: str) -> list[str]:
        return [path.split(",")[-1].strip()] if self.lists else [path.strip()]

    def pathFromIndex(self, index) -> str:
        chosen = super().pathFromIndex(index)
        if not self.lists:
            return chosen
        field = self.widget()
        done = [t.strip() for t in field.text().split(",")[:-1] if t.strip()] if isinstance(field, QLineEdit) else []
        return ", ".join([*done, chosen])

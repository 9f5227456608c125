"""The scan report: counts plus one line per file that needs the user's attention."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

_ESCAPES = re.compile("[\udc80-\udcff]")


def printable_path(path: str) -> str:
    """A path that any UTF-8 output can hold: undecodable name bytes shown as \\xNN escapes.

    Python keeps such bytes as lone surrogates, which `print` and `json.dumps` then refuse
    to encode, so one badly named file would crash the whole report.
    """
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def json_text(value: object, **options: Any) -> str:
    """json.dumps that keeps non-ASCII text readable and writes undecodable name bytes as \\udcXX escapes.

    Those escapes are valid JSON, and a reader gets the path back exactly as the OS gave it
    (`os.fsencode(json.loads(...))` is the original bytes).
    """
    return _ESCAPES.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False, **options))


@dataclass
class ScanReport:
    """What a scan or index run did, in numbers, and each problem in words."""

    added: int = 0
    updated: int = 0
    moved: int = 0
    unchanged: int = 0
    missing: int = 0
    errors: int = 0
    encoded: int = 0
    reused: int = 0
    coded: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, path: str, reason: str) -> None:
        """Record one file that could not be (fully) indexed, and why."""
        self.problems.append((printable_path(path), printable_path(reason)))

    def as_dict(self) -> dict:
        counts = {name: getattr(self, name) for name in ("added", "updated", "moved", "unchanged", "missing", "errors", "encoded", "reused", "coded")}
        return {**counts, "problems": [{"path": p, "reason": r} for p, r in self.problems], "notes": list(self.notes)}

    def summary(self) -> str:
        """One human line with the counts that are not zero."""
        parts = [f"{value} {name}" for name, value in self.as_dict().items() if isinstance(value, int) and value]
        return ", ".join(parts) if parts else "nothing to do"

"""The heavy reliability runs (20 kill points, the CLI session) only on request.

They take minutes; the default suite (and so CI) runs their reduced forms. Run them with
`pytest tests/reliability -m slow` or with BITLENS_HEAVY=1.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.option.markexpr or "") or os.environ.get("BITLENS_HEAVY") == "1":
        return
    skip = pytest.mark.skip(reason="heavy reliability run: use -m slow or BITLENS_HEAVY=1")
    here = os.path.dirname(__file__)
    for item in items:
        if item.get_closest_marker("slow") and str(item.fspath).startswith(here):
            item.add_marker(skip)

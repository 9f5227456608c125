#!/usr/bin/env bash
# Set BitLens up on first use, then run the whole test suite (extra arguments go to pytest).
set -uo pipefail
repo="$(cd "$(dirname "$0")" && pwd)"
"$repo/scripts/setup.sh" || exit 1
cd "$repo"
export QT_QPA_PLATFORM=offscreen
# Lint first (seconds): an unused import or an undefined name fails like a test does.
.venv/bin/ruff check engine desktop_app tests bench packaging || exit 1
.venv/bin/ruff format --check engine desktop_app tests bench packaging || exit 1
# Types (seconds once .mypy_cache is warm): the packages [tool.mypy] in pyproject.toml names
# (without PYTHONPATH, which would make mypy treat the engine as installed and skip its errors).
env -u PYTHONPATH .venv/bin/mypy || exit 1
# Two workers, each taking whole test files (module fixtures are built once): 4:48 instead of 6:02 on
# a 2-core machine. BITLENS_TEST_WORKERS=0 runs in this process (e.g. to use a debugger); a later
# -n in the arguments wins.
.venv/bin/python -m pytest -n "${BITLENS_TEST_WORKERS:-2}" --dist loadfile "$@"
status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests: that is a failure, not a pass" >&2
fi
exit "$status"

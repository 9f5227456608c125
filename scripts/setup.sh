#!/usr/bin/env bash
# Create .venv beside this repo and install BitLens into it (editable, with HEIC and RAW support and test tools).
# Re-running is cheap: it reinstalls only when pyproject.toml changed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "BitLens needs Python 3.10 or newer; set PYTHON=/path/to/python3.x" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "Creating $venv ..." >&2
    "$python" -m venv "$venv"
fi
stamp="$venv/.bitlens-installed"
want="$(sha256sum "$repo/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing BitLens and its dependencies (first time: a few minutes, several GB for torch) ..." >&2
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
    # heic, raw: iPhone HEIC and camera RAW photos are indexed out of the box; cluster: Ray (index --cluster); test: the test tools
    "$venv/bin/python" -m pip install --quiet -e "$repo[heic,raw,cluster,test]" >&2
    echo "$want" > "$stamp"
fi

#!/usr/bin/env bash
# Set BitLens up on first use, then run it: `./run.sh gui [...]` opens the desktop app,
# anything else is passed to the `bitlens` command line.
set -euo pipefail
repo="$(cd "$(dirname "$0")" && pwd)"
"$repo/scripts/setup.sh"
if [ "${1:-}" = "gui" ]; then
    shift
    exec "$repo/.venv/bin/bitlens-gui" "$@"
fi
exec "$repo/.venv/bin/bitlens" "$@"

#!/usr/bin/env bash
# Set BitLens up on first use, then run the `bitlens` command with these arguments.
set -euo pipefail
repo="$(cd "$(dirname "$0")" && pwd)"
"$repo/scripts/setup.sh"
exec "$repo/.venv/bin/bitlens" "$@"

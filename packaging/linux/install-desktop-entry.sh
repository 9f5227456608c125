#!/bin/sh
# Add BitLens to the desktop's application menu for the current user (no root).
# Run from anywhere after `pip install .` (or with the bundle's folder on PATH).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
for size in 16 24 32 48 64 128 256 512; do
    dir="$data/icons/hicolor/${size}x${size}/apps"
    mkdir -p "$dir"
    cp "$root/resources/icons/bitlens-$size.png" "$dir/org.bitlens.BitLens.png"
done
mkdir -p "$data/icons/hicolor/scalable/apps" "$data/applications" "$data/metainfo"
cp "$root/resources/bitlens.svg" "$data/icons/hicolor/scalable/apps/org.bitlens.BitLens.svg"
cp "$here/org.bitlens.BitLens.desktop" "$data/applications/"
cp "$here/org.bitlens.BitLens.metainfo.xml" "$data/metainfo/"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q "$data/icons/hicolor" || true
echo "BitLens is in your application menu (remove: delete org.bitlens.BitLens.* under $data)"

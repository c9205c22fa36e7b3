#!/usr/bin/env bash
# Install the built app for the current user, with a menu entry and icon; no root needed.
#
#   packaging/linux/install.sh [APP_DIR]     (default dist/DogBreedStudio)
#   packaging/linux/install.sh --uninstall
#   ./install.sh                             in an unpacked release tarball: its DogBreedStudio folder
#
# Puts the app folder in ~/.local/opt/DogBreedStudio, a link in ~/.local/bin, the menu entry in
# ~/.local/share/applications/dogbreed-studio.desktop (the name the window announces itself with, so the
# desktop shows the right icon on Wayland too) and the icon in ~/.local/share/icons/hicolor/256x256/apps.
# The desktop entry opens photos given to it ("Open with", or dropped on the launcher).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
OPT="$HOME/.local/opt/DogBreedStudio"
BIN="$HOME/.local/bin"
DESKTOP="$DATA/applications/dogbreed-studio.desktop"
ICON="$DATA/icons/hicolor/256x256/apps/dogbreed-studio.png"

refresh() {
    command -v update-desktop-database >/dev/null && update-desktop-database -q "$DATA/applications" || true
    command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$OPT" "$DESKTOP" "$ICON"
    [ -L "$BIN/DogBreedStudio" ] && rm "$BIN/DogBreedStudio"
    refresh
    echo "removed (your runs and settings stay in $DATA/DogBreedStudio)"
    exit 0
fi

DEFAULT_APP="$HERE/../../dist/DogBreedStudio"
[ -d "$HERE/DogBreedStudio" ] && DEFAULT_APP="$HERE/DogBreedStudio"  # beside it in a release tarball
APP="$(cd "${1:-$DEFAULT_APP}" && pwd)"
[ -x "$APP/DogBreedStudio" ] || { echo "no app at $APP: build it with scripts/build-app.sh" >&2; exit 1; }
mkdir -p "$(dirname "$OPT")" "$BIN" "$(dirname "$DESKTOP")" "$(dirname "$ICON")"
rm -rf "$OPT"
cp -a "$APP" "$OPT"
ln -sfn "$OPT/DogBreedStudio" "$BIN/DogBreedStudio"
cp "$OPT/_internal/resources/icon.png" "$ICON"
# Absolute paths: ~/.local/bin is not always on the desktop session's PATH.
sed -e "s|^Exec=.*|Exec=\"$OPT/DogBreedStudio\" %F|" -e "s|^TryExec=.*|TryExec=$OPT/DogBreedStudio|" \
    "$HERE/dogbreed-studio.desktop" > "$DESKTOP"
refresh
echo "installed: $OPT (menu: Dog Breed Studio; terminal: DogBreedStudio predict PHOTO)"

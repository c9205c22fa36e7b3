#!/usr/bin/env bash
# Debian/Ubuntu libraries Qt 6 needs (offscreen and xcb platforms, fonts) and Xvfb, installed only if missing.
# Packages given as arguments are installed with them.
#   qt-system-libs.sh --runtime   prints the libraries the built app needs, one a line, and installs nothing:
#                                 the .deb's Depends (scripts/debian_package.py)
set -euo pipefail
RUNTIME=(libgl1 libegl1 libglib2.0-0 libfontconfig1 libfreetype6 fonts-dejavu-core libdbus-1-3
         libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
         libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-shm0
         libxcb-sync1 libxcb-render0
         libwayland-client0 libwayland-cursor0 libwayland-egl1)  # the Wayland platform plugin (the app links them)
if [ "${1:-}" = "--runtime" ]; then
    printf '%s\n' "${RUNTIME[@]}"
    exit 0
fi
PKGS=("${RUNTIME[@]}" xvfb xauth)  # Xvfb: the tests and the smoke test show the window on a virtual X server
PKGS+=("$@")  # more packages from the caller (scripts/test-system-libs.sh)
missing=()
for p in "${PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "missing Debian packages (install as root): ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

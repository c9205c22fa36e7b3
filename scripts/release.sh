#!/usr/bin/env bash
# The versioned release packages, from a clean checkout, into dist/release/ (the version is pyproject.toml's).
# On Linux (x86-64, Debian/Ubuntu tools):
#   dogbreed-studio_<version>_amd64.deb            the full app (CPU torch)       } they conflict: both install
#   dogbreed-studio-classify_<version>_amd64.deb   the classify-only app (no torch) } /opt/dogbreed-studio
#   DogBreedStudio-<version>-linux-x86_64.tar.gz, DogBreedStudio-classify-<version>-linux-x86_64.tar.gz
# On macOS: DogBreedStudio-<version>-macos-<arch>.zip (the .app); on Windows (Git Bash):
# DogBreedStudio-<version>-windows-x86_64.zip (the folder); the full app only. Always SHA256SUMS.
#
#   scripts/release.sh              build the apps (scripts/build-app.sh: cpu, then classify) and package them
#   scripts/release.sh --no-build   package the apps already in dist/ (CI: scripts/ci-bundle-smoke.sh built and
#                                   smoke-tested them); each must be a build of this version and flavour
#
# The .debs are made by scripts/debian_package.py with dpkg-deb; a tarball holds the app folder with
# packaging/linux/install.sh beside it (a per-user menu entry). Needs Python 3.11 or later ($PYTHON, default
# python3), and on Linux dpkg-deb and objdump (binutils: the .deb's libc6 version). With no dev venv (.venv) the
# cpu build venv makes the engine's ONNX graphs. Only the Linux packages have been built and tested.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PYTHON="${PYTHON:-python3}"
case "${1:-}" in
    "") build=1 ;;
    --no-build) build=0 ;;
    *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
esac
version=$("$PYTHON" scripts/debian_package.py version)
system=$(uname -s)
echo "Dog Breed Studio $version ($system)"

if [ "$build" = 1 ]; then
    if [ "$system" = Linux ]; then
        # Qt's libraries (PyInstaller follows the plugins' links), gcc and binutils (the classify build's ICU
        # subset and debug stripping; objdump).
        bash scripts/qt-system-libs.sh gcc binutils
    fi
    bash scripts/build-app.sh cpu  # first: with no dev venv, its build venv makes the graphs both apps bundle
    [ "$system" = Linux ] && bash scripts/build-app.sh classify
fi

OUT="$ROOT/dist/release"
rm -rf "$OUT" build/tarball
mkdir -p "$OUT"
case "$system" in
    Linux)
        for flavour in cpu classify; do
            app=dist/DogBreedStudio name=DogBreedStudio
            [ "$flavour" = classify ] && app=dist/classify/DogBreedStudio name=DogBreedStudio-classify
            "$PYTHON" scripts/debian_package.py deb "$flavour" "$app" "$OUT" >/dev/null
            top="build/tarball/$name-$version"
            mkdir -p "$top"
            cp -al "$app" "$top/DogBreedStudio" 2>/dev/null || cp -a "$app" "$top/DogBreedStudio"  # no copy if it can
            cp packaging/linux/install.sh packaging/linux/dogbreed-studio.desktop "$top/"
            tar -C build/tarball --owner=0 --group=0 --numeric-owner \
                -czf "$OUT/$name-$version-linux-x86_64.tar.gz" "$name-$version"
            rm -rf build/tarball
        done ;;
    Darwin)
        ditto -c -k --keepParent "dist/Dog Breed Studio.app" "$OUT/DogBreedStudio-$version-macos-$(uname -m).zip" ;;
    MINGW*|MSYS*|CYGWIN*)
        (cd dist && "$PYTHON" -m zipfile -c "$OUT/DogBreedStudio-$version-windows-x86_64.zip" DogBreedStudio) ;;
    *) echo "no release packages for $system" >&2; exit 1 ;;
esac
cd "$OUT"
shopt -s nullglob
made=(*.deb *.tar.gz *.zip)
if command -v sha256sum >/dev/null; then sha256sum -- "${made[@]}"; else shasum -a 256 -- "${made[@]}"; fi > SHA256SUMS

echo "release $version in $OUT:"
for f in "${made[@]}"; do
    printf '  %8.1f MB  %s\n' "$(($(wc -c < "$f") / 1000))e-3" "$f"
done

#!/usr/bin/env bash
# Debian packages the test suite needs: Qt's libraries (qt-system-libs.sh) plus headless Chromium and its
# WebDriver, which tests/test_server_browser.py drives with Selenium (it skips without them), and gcc and
# binutils, which tests/test_icu_subset.py uses as the classify bundle's build does (it skips without them), and
# desktop-file-utils, whose desktop-file-validate tests/test_release.py runs on the .deb's desktop entries.
set -euo pipefail
exec bash "$(dirname "$0")/qt-system-libs.sh" chromium chromium-driver gcc binutils desktop-file-utils

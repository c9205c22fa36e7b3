"""Take docs/img/screenshot.png: the real window, offscreen, with real photos from the Kaggle set classified.

    DOGBREED_DATA=/path/to/dog-breed-identification python scripts/make_screenshot.py [--out docs/img/screenshot.png]
        [--scheme light|dark]   # as if the system were switched to that colour scheme
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent  # where docs/ is; the package itself comes from the installed one

# Kaggle ids: the first photo is the one shown large; the husky is one the model is unsure about.
PHOTOS = [
    "003b5d8008266ef26dde82fdc18cb6ee",  # golden retriever
    "02499937ca7213c1f3c234a064c98f31",  # pug
    "076bf0fe2a15c012614e87b0e8275c0d",  # beagle
    "02e6c2f175de450b2ed281c50f93e8cc",  # border collie
    "05917e33794a1a336df375c7f4508ca8",  # siberian husky (unsure)
    "03b0e967cda2a53240f4a93002742787",  # samoyed
    "00a1a957b9884848d496abe71d01ad65",  # bernese mountain dog
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=os.environ.get("DOGBREED_DATA"))
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "screenshot.png")
    ap.add_argument("--select", type=int, default=0, help="which photo to show large (index into PHOTOS)")
    ap.add_argument("--scheme", choices=("light", "dark"), help="force the system colour scheme")
    args = ap.parse_args()
    if not args.data:
        ap.error("set DOGBREED_DATA or pass --data")
    from dogbreed_desktop.gui.app import application
    from dogbreed_desktop.gui.main_window import MainWindow

    os.environ.setdefault("DOGBREED_HOME", tempfile.mkdtemp(prefix="dogbreed-shot-"))  # default settings
    app = application()
    if args.scheme:
        from PySide6.QtCore import Qt

        from dogbreed_desktop.gui import theme

        scheme = Qt.ColorScheme.Dark if args.scheme == "dark" else Qt.ColorScheme.Light
        app.styleHints().setColorScheme(scheme)  # honoured where the platform theme can (Qt 6.8+)
        theme.follow_system(app).apply(scheme)  # offscreen cannot: what the app does on colorSchemeChanged
    window = MainWindow()
    window.resize(900, 600)
    window.show()
    tab = window.classify_tab
    window.start(None, [Path(args.data) / "train" / f"{i}.jpg" for i in PHOTOS])

    def settle(condition, timeout=120.0):
        end = time.monotonic() + timeout
        while not condition() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    settle(lambda: tab.model.rowCount() == len(PHOTOS) and not window.client.busy)
    tab.list.select_row(tab.model.row_of(str(Path(args.data) / "train" / f"{PHOTOS[args.select]}.jpg")))
    settle(tab.panel.photo.has_image)
    settle(lambda: False, timeout=0.5)  # let the last paints land
    args.out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out), "PNG")
    from PIL import Image

    with Image.open(args.out) as shot:  # a 256-colour palette: a third of the bytes, no visible loss at this size
        small = shot.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    small.save(args.out, optimize=True)
    print(f"wrote {args.out} ({window.width()}x{window.height()}): {tab.panel.verdict.text()}")
    window.close()


if __name__ == "__main__":
    main()

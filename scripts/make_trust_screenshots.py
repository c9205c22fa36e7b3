"""Take docs/img/not_a_dog.png and docs/img/why_heatmap.png: the real window, offscreen, with a cat and a person from
the not-dogs folder and a dog from the held-out split dropped in; the cat selected, then the dog with "Why?".

    DOGBREED_DATA=/path/to/dog-breed-identification python scripts/make_trust_screenshots.py
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=os.environ.get("DOGBREED_DATA"))
    ap.add_argument("--model", default=None, help="fast, balanced (default) or accurate")
    args = ap.parse_args()
    if not args.data:
        ap.error("set DOGBREED_DATA or pass --data")
    from training.holdout import not_dogs_dir, not_dogs_split, stanford_split
    from dogbreed_desktop.gui.app import application
    from dogbreed_desktop.gui.main_window import MainWindow

    held = not_dogs_split(not_dogs_dir(args.data))["heldout"]
    cat = next(p for p, c in held if c == "cat")
    person = next(p for p, c in held if c == "person")
    dog = stanford_split(args.data)["test"][40][0]
    app = application()
    window = MainWindow()
    window.resize(900, 600)
    window.show()
    tab = window.classify_tab
    window.start(args.model, [cat, person, dog])

    def settle(condition, timeout=180.0):
        end = time.monotonic() + timeout
        while not condition() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def shot(name: str) -> None:
        settle(lambda: False, timeout=0.5)  # let the last paints land
        out = ROOT / "docs" / "img" / name
        window.grab().save(str(out), "PNG")
        from PIL import Image

        with Image.open(out) as img:  # a 256-colour palette: a third of the bytes, no visible loss at this size
            small = img.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
        small.save(out, optimize=True)
        print(f"wrote {out}: {tab.panel.verdict.text()}")

    settle(lambda: tab.model.rowCount() == 3 and not window.client.busy)
    tab.list.select_row(tab.model.row_of(str(cat)))
    settle(tab.panel.photo.has_image)
    shot("not_a_dog.png")
    tab.list.select_row(tab.model.row_of(str(dog)))
    tab.panel.why.setChecked(True)
    settle(tab.panel.photo.has_overlay)
    shot("why_heatmap.png")
    window.close()


if __name__ == "__main__":
    main()

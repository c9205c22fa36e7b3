"""Draw the app icon (a paw print on a warm rounded square) and write resources/icon.{svg,png,ico}.

    python scripts/make_icon.py

The SVG is the source of truth: Qt renders it to the 256x256 PNG, Pillow packs the PNG into a multi-size ICO.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RESOURCES = Path(__file__).resolve().parent.parent / "resources"

# 256-unit canvas. Toes are (cx, cy, rx, ry, rotation in degrees); the pad is a cubic path.
TOES = [(72, 112, 21, 27, -25), (106, 76, 22, 29, -8), (150, 76, 22, 29, 8), (184, 112, 21, 27, 25)]
PAD = "M128 128 C 160 128 196 166 196 194 C 196 216 176 222 160 218 C 148 215 139 210 128 210 " \
      "C 117 210 108 215 96 218 C 80 222 60 216 60 194 C 60 166 96 128 128 128 Z"


def svg() -> str:
    toes = "\n".join(
        f'    <ellipse cx="{x}" cy="{y}" rx="{rx}" ry="{ry}" transform="rotate({r} {x} {y})"/>'
        for x, y, rx, ry, r in TOES
    )
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#f6a83b"/>
      <stop offset="1" stop-color="#d9641e"/>
    </linearGradient>
  </defs>
  <rect x="8" y="8" width="240" height="240" rx="52" fill="url(#bg)"/>
  <g fill="#fff8ee">
{toes}
    <path d="{PAD}"/>
  </g>
</svg>
"""


def main() -> None:
    from PIL import Image
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv)  # noqa: F841 (needed for rendering)
    RESOURCES.mkdir(exist_ok=True)
    text = svg()
    (RESOURCES / "icon.svg").write_text(text)
    image = QImage(256, 256, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(QByteArray(text.encode())).render(painter)
    painter.end()
    png = RESOURCES / "icon.png"
    image.save(str(png), "PNG")
    sizes = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
    Image.open(png).save(RESOURCES / "icon.ico", sizes=sizes)
    print(f"wrote {RESOURCES / 'icon.svg'}, {png}, {RESOURCES / 'icon.ico'}")


if __name__ == "__main__":
    main()

"""Every colour the window draws with, for a light and a dark palette, and following the system's scheme.

Widgets never hard-code a colour: they ask `colors(self.palette())` when they paint (or on a PaletteChange
event) and get the variant that reads on that palette. Fills (bars, curves) keep the brand hues; text colours are
darkened on light backgrounds and lightened on dark ones so every line keeps a contrast of at least 4.5:1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

# Brand hues (fills and strokes). Used directly only where no palette is at hand.
ACCENT = QColor("#e0782a")  # the app icon's orange: top bar, validation curve, drop highlight


@dataclass(frozen=True)
class Colors:
    dark: bool
    accent: QColor  # bar and curve fill
    unsure: QColor  # bar fill when the model is not sure
    sure_text: QColor  # the verdict line when sure
    unsure_text: QColor
    error_text: QColor  # unreadable files, failed runs
    warning_text: QColor  # preflight problems
    no_dog_text: QColor  # "not a dog": a plain statement, neither a warning nor a result
    unknown_breed_text: QColor  # a dog of a breed the model does not know: a statement, not a breed result
    muted_text: QColor  # secondary lines
    track: QColor  # the empty part of a bar
    empty_cell: QColor  # a heatmap cell with nothing in it
    reference: QColor  # reference lines (the diagonal of a reliability diagram)
    hover_shade: QColor  # laid over heatmap cells under the pointer (the heatmap's colours, not the palette's)
    train: QColor  # training curve
    second: QColor  # top-5 curve
    best: QColor  # the best epoch's line and star
    outline: QColor  # thin outline on markers, the background colour

    def css(self, name: str) -> str:
        """'#rrggbb' of a field, for rich text and style sheets."""
        return getattr(self, name).name()


_LIGHT = dict(accent="#e0782a", unsure="#c9a227", sure_text="#9c4f12", unsure_text="#80660f", error_text="#b71c1c",
              warning_text="#8a5a00", no_dog_text="#4f5a68", unknown_breed_text="#5e4b8b", train="#3a7bd5",
              second="#2e9e6a", best="#c0392b")
_DARK = dict(accent="#e0782a", unsure="#c9a227", sure_text="#f5a561", unsure_text="#e8cc5c", error_text="#ff8a80",
             warning_text="#f2c14e", no_dog_text="#aab6c5", unknown_breed_text="#c3b3f2", train="#6ea8ff",
             second="#4cc38a", best="#ff6b5b")
# Heatmaps (the Evaluate view's confusion matrix): a perceptually even map that reads on light and dark alike.
HEATMAP_COLORMAP = "viridis"


def attention_rgba(a: np.ndarray) -> np.ndarray:
    """The "Why?" overlay's ramp, the same on light and dark (it lies on the photo): attention 0..1 -> straight
    RGBA 0..1, transparent where the model did not look, red to yellow and about 60% opaque where it looked most."""
    alpha = np.clip((a - 0.15) / 0.85, 0, 1) * 0.62
    r, g, b = np.ones_like(a), np.clip(a * 1.4 - 0.2, 0, 1), 0.1 * (1 - a)
    return np.stack([r, g, b, alpha], axis=-1)


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether text is drawn light on dark: decided from the palette itself, whoever set it."""
    pal = palette if palette is not None else QGuiApplication.palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < pal.color(QPalette.ColorRole.WindowText).lightness()


def colors(palette: QPalette | None = None) -> Colors:
    pal = palette if palette is not None else QGuiApplication.palette()
    dark = is_dark(pal)
    table = {k: QColor(v) for k, v in (_DARK if dark else _LIGHT).items()}
    muted = QColor(pal.color(QPalette.ColorRole.WindowText))
    muted.setAlphaF(1.0)
    muted = _mix(muted, pal.color(QPalette.ColorRole.Window), 0.62)  # readable grey on this background
    text, window = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    track = _mix(text, window, 0.22 if dark else 0.13)
    base = pal.color(QPalette.ColorRole.Base)
    return Colors(dark=dark, muted_text=muted, track=track, outline=base, empty_cell=_mix(text, base, 0.06),
                  reference=_mix(text, window, 0.45), hover_shade=QColor(255, 255, 255, 60), **table)


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """t of `a`, the rest `b`."""
    return QColor(*(round(t * x + (1 - t) * y) for x, y in zip(a.getRgb()[:3], b.getRgb()[:3])))  # 8-bit exact


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""
    def lum(c: QColor) -> float:
        ch = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c.getRgbF()[:3]]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def dark_palette() -> QPalette:
    """Our dark palette, for platforms whose theme does not switch Qt's palette with the system scheme."""
    R, G = QPalette.ColorRole, QPalette.ColorGroup
    pal = QPalette()
    for role, value in ((R.Window, "#2b2b2d"), (R.WindowText, "#e8e8e8"), (R.Base, "#1f1f21"),
                        (R.AlternateBase, "#303033"), (R.ToolTipBase, "#3a3a3d"), (R.ToolTipText, "#e8e8e8"),
                        (R.PlaceholderText, "#9c9c9c"), (R.Text, "#e8e8e8"), (R.Button, "#353538"),
                        (R.ButtonText, "#e8e8e8"), (R.BrightText, "#ff6b5b"), (R.Light, "#4a4a4e"),
                        (R.Midlight, "#3e3e42"), (R.Mid, "#5a5a5e"), (R.Dark, "#191919"), (R.Shadow, "#000000"),
                        (R.Highlight, "#3d6fc4"), (R.HighlightedText, "#ffffff"), (R.Link, "#7fb0ff"),
                        (R.LinkVisited, "#c39bff")):
        pal.setColor(role, QColor(value))
    for role in (R.WindowText, R.Text, R.ButtonText):
        pal.setColor(G.Disabled, role, QColor("#7a7a7a"))
    pal.setColor(G.Disabled, R.Highlight, QColor("#4a4a4e"))
    return pal


class SchemeFollower(QObject):
    """Keeps the application palette in step with the system's light/dark scheme, live.

    Where the platform theme already switches Qt's palette (Windows, macOS, recent GNOME/KDE), it leaves it
    alone; elsewhere (e.g. Fusion on a bare X11 session) it puts our dark palette in and takes it out again.
    Widgets repaint from the new palette by themselves (QEvent.PaletteChange)."""

    def __init__(self, app: QGuiApplication):
        super().__init__(app)
        self._app = app
        self._original: QPalette | None = None  # the palette before we replaced it
        app.styleHints().colorSchemeChanged.connect(self.apply)
        self.apply(app.styleHints().colorScheme())

    def apply(self, scheme: Qt.ColorScheme) -> None:
        want_dark = scheme == Qt.ColorScheme.Dark
        if want_dark and not is_dark(self._app.palette()):
            self._original = QPalette(self._app.palette())
            self._app.setPalette(dark_palette())
        elif not want_dark and self._original is not None:
            self._app.setPalette(self._original)
            self._original = None


def follow_system(app: QGuiApplication) -> SchemeFollower:
    """Install once at start (the app owns the follower)."""
    follower = app.findChild(SchemeFollower)
    return follower if follower is not None else SchemeFollower(app)


_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


class _PaletteWatch(QObject):
    def __init__(self, widget, callback):
        super().__init__(widget)
        self._callback, self._busy = callback, False
        # Note: a widget with a style sheet of its own keeps the palette it was polished with and hears no
        # palette event; watch an unstyled widget and set the style sheet from there (as VerdictPanel does).
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() in _PALETTE_EVENTS:
            self._fire()
        return False

    def _fire(self, *_) -> None:
        if self._busy:
            return
        self._busy = True  # a callback that sets a style sheet can itself cause a PaletteChange
        try:
            self._callback()
        finally:
            self._busy = False


def on_palette_change(widget, callback) -> None:
    """Call `callback()` whenever `widget`'s palette changes (the system switched light/dark): for colours that
    are baked into style sheets, rich text or pyqtgraph items rather than read in a paintEvent."""
    _PaletteWatch(widget, callback)

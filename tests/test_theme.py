"""Light and dark: every colour comes from gui/theme.py or the palette, reads on both, and switches live when
the system's colour scheme changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import make_image
from gui_support import make_window
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from dogbreed_desktop.gui import theme
from dogbreed_desktop.gui.results_model import DONE

TEXT_FIELDS = ("sure_text", "unsure_text", "error_text", "warning_text", "no_dog_text", "unknown_breed_text",
               "muted_text")
GUI = Path(theme.__file__).parent


@pytest.mark.parametrize("dark", [False, True])
def test_every_text_colour_reads_on_its_palette(qapp, dark):
    pal = theme.dark_palette() if dark else qapp.style().standardPalette()
    c = theme.colors(pal)
    assert c.dark is dark
    for field in TEXT_FIELDS:
        for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
            ratio = theme.contrast(getattr(c, field), pal.color(role))
            assert ratio >= 4.5, (field, role, ratio)
    for field in ("accent", "train", "second", "best"):  # curves and bars on the plot background
        assert theme.contrast(getattr(c, field), pal.color(QPalette.ColorRole.Base)) >= (4.0 if dark else 2.5)


def test_no_colour_is_hard_coded_outside_the_theme_module():
    patterns = [r"#[0-9a-fA-F]{6}\b", r"QColor\(\s*['\"\d]", r"mkPen\(\s*['\"(]", r"rgba?\(\s*\d",
                r"Qt\.GlobalColor\.", r"\bQt\.(red|black|white|gray|darkGray|lightGray)\b"]
    found = []
    for path in GUI.rglob("*.py"):
        if path.name == "theme.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("  #", 1)[0]
            if any(re.search(p, code) for p in patterns):
                found.append(f"{path.relative_to(GUI)}:{n}: {line.strip()}")
    assert found == []


def switch(app, scheme) -> None:
    app.styleHints().colorSchemeChanged.emit(scheme)  # what Qt emits when the system switches


def test_the_window_recolours_live_when_the_system_turns_dark(qtbot, qapp, tmp_path):
    follower = theme.follow_system(qapp)
    w = make_window(qtbot)
    light_window = qapp.palette().color(QPalette.ColorRole.Window)
    w.open_from_outside([make_image(tmp_path / "dog.png", color=(200, 140, 60), size=(120, 90), format="PNG")])
    rows = w.classify_tab.model.rows
    qtbot.waitUntil(lambda: len(rows()) == 1 and rows()[0].state == DONE, timeout=60_000)
    panel = w.classify_tab.panel
    qtbot.waitUntil(lambda: panel.row is not None and panel.row.state == DONE)
    light_verdict = panel.verdict.styleSheet()
    assert light_verdict
    w.classify_tab.hint.set_status("Loading the model…")
    try:
        switch(qapp, Qt.ColorScheme.Dark)
        assert theme.is_dark(qapp.palette())
        qtbot.waitUntil(lambda: theme.is_dark(w.palette()) and theme.is_dark(panel.palette()))
        dark = theme.colors(w.palette())
        # The tone follows the core's verdict (a plain orange picture is likely no dog), not the style sheet
        tone = {"breed": "sure_text", "unsure": "unsure_text", "not_a_dog": "no_dog_text"}[panel.row.verdict]
        assert panel.verdict.styleSheet() == f"color: {dark.css(tone)}"
        assert panel.verdict.styleSheet() != light_verdict
        loss = w.train_tab.curves.loss_plot
        assert loss.backgroundBrush().color() == w.palette().color(QPalette.ColorRole.Base)
        assert w.train_tab.curves.val_curve.opts["pen"].color() == dark.accent
        assert w.train_tab.curves.train_curve.opts["pen"].color() == dark.train
        qtbot.waitUntil(lambda: dark.css("sure_text") in w.classify_tab.hint._title.text())
        image = w.grab().toImage()
        corner = image.pixelColor(image.width() - 5, image.height() // 2)
        assert corner.lightness() < 100  # the window itself is drawn dark
        switch(qapp, Qt.ColorScheme.Dark)  # a repeated signal changes nothing
        assert theme.is_dark(qapp.palette())
    finally:
        switch(qapp, Qt.ColorScheme.Light)
    assert qapp.palette().color(QPalette.ColorRole.Window) == light_window
    qtbot.waitUntil(lambda: not theme.is_dark(panel.palette()))
    assert panel.verdict.styleSheet() == light_verdict
    assert follower is theme.follow_system(qapp)  # one per application


def test_a_platform_that_switches_the_palette_itself_is_left_alone(qapp):
    follower = theme.follow_system(qapp)
    before = QApplication.palette()
    qapp.setPalette(theme.dark_palette())  # as Windows or macOS would
    try:
        switch(qapp, Qt.ColorScheme.Dark)
        assert follower._original is None  # nothing of ours to take out again later
    finally:
        qapp.setPalette(before)


def test_the_evaluate_heatmap_recolours_its_empty_cells(qtbot, qapp):
    import numpy as np

    from dogbreed_desktop.gui.evaluate.heatmap import Heatmap

    theme.follow_system(qapp)
    heatmap = Heatmap()
    qtbot.addWidget(heatmap)
    heatmap.set_data(np.array([[3, 0], [1, 5]]), ["pug", "beagle"])
    light_empty = heatmap.image.pixelColor(1, 0)
    try:
        switch(qapp, Qt.ColorScheme.Dark)
        qtbot.waitUntil(lambda: heatmap.image.pixelColor(1, 0) != light_empty)
        assert heatmap.image.pixelColor(1, 0) == theme.colors(heatmap.palette()).empty_cell
        assert heatmap.image.pixelColor(0, 0) != heatmap.image.pixelColor(1, 0)  # a count keeps its colour
    finally:
        switch(qapp, Qt.ColorScheme.Light)

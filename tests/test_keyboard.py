"""Working the window from the keyboard: arrows, Delete, Ctrl+A, Ctrl+C, shortcuts in every menu, Tab order
with an accessible name on every stop."""

from __future__ import annotations

import pytest
from conftest import make_image
from gui_support import make_window
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from dogbreed_desktop.gui import recent
from dogbreed_desktop.gui.results_model import DONE

COLORS = [(220, 30, 30), (30, 60, 220), (40, 180, 60)]  # red, blue, green photos


@pytest.fixture
def window_with_photos(qtbot, tmp_path):
    w = make_window(qtbot)
    photos = [make_image(tmp_path / f"{i}.png", color=c, size=(160, 120), format="PNG") for i, c in enumerate(COLORS)]
    w.open_from_outside(photos)
    rows = w.classify_tab.model.rows
    qtbot.waitUntil(lambda: len(rows()) == 3 and all(r.state == DONE for r in rows()), timeout=60_000)
    w.activateWindow()
    w.classify_tab.list.select_row(0)
    w.classify_tab.list.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.classify_tab.list)
    return w, [str(p) for p in photos]


def centre_colour(view) -> QColor:
    image = view.grab().toImage()
    return image.pixelColor(image.width() // 2, 20)  # the photo is drawn top-aligned


def is_close(a: QColor, rgb) -> bool:
    return all(abs(x - y) < 12 for x, y in zip((a.red(), a.green(), a.blue()), rgb))


def test_arrow_keys_move_through_the_list_and_the_large_view_follows(qtbot, window_with_photos):
    w, paths = window_with_photos
    tab = w.classify_tab
    qtbot.waitUntil(lambda: is_close(centre_colour(tab.panel.photo), COLORS[0]), timeout=20_000)
    qtbot.keyClick(tab.list, Qt.Key.Key_Down)
    assert tab.panel.row.path == paths[1]
    qtbot.waitUntil(lambda: is_close(centre_colour(tab.panel.photo), COLORS[1]), timeout=20_000)
    qtbot.keyClick(tab.list, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: is_close(centre_colour(tab.panel.photo), COLORS[2]), timeout=20_000)
    assert tab.panel.verdict.text()  # its verdict line, not the previous photo's


def test_delete_removes_the_selected_rows_and_the_next_becomes_current(qtbot, window_with_photos):
    w, paths = window_with_photos
    tab = w.classify_tab
    qtbot.keyClick(tab.list, Qt.Key.Key_Down)
    qtbot.keyClick(tab.list, Qt.Key.Key_Delete)
    assert [r.path for r in tab.model.rows()] == [paths[0], paths[2]]
    assert tab.panel.row.path == paths[2]
    assert tab.model.row_of(paths[2]) == 1  # the path index follows the removal
    qtbot.keyClick(tab.list, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(tab.list, Qt.Key.Key_Delete)
    assert tab.model.rowCount() == 0 and not tab.splitter.isVisible()


def test_ctrl_a_and_ctrl_c_copy_the_selection(qtbot, window_with_photos):
    w, paths = window_with_photos
    tab = w.classify_tab
    clipboard = QGuiApplication.clipboard()
    qtbot.keyClick(tab.list, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = clipboard.text().splitlines()
    assert len(lines) == 2 and paths[0] in lines[1]  # a header and the current row
    qtbot.keyClick(tab.list, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(tab.list.selected_paths()) == 3
    qtbot.keyClick(tab.list, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = clipboard.text().splitlines()
    assert len(lines) == 4 and all(any(p in line for line in lines) for p in paths)
    clipboard.clear()


def test_the_list_keys_are_off_on_the_train_tab_so_fields_keep_them(qtbot, window_with_photos):
    w, paths = window_with_photos
    w.tabs.setCurrentIndex(1)
    edit = w.train_tab.data.path_edit
    edit.setFocus()
    edit.setText("abc")
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    assert edit.text() == ""
    assert w.classify_tab.model.rowCount() == 3


def menu_actions(menu_bar):
    for top in menu_bar.actions():
        for a in top.menu().actions():
            if a.isSeparator() or a.menu() is not None:
                continue
            yield top.text(), a


def test_every_menu_action_has_its_own_shortcut(qtbot, tmp_path):
    w = make_window(qtbot)
    actions = list(menu_actions(w.menuBar()))
    assert len(actions) >= 12
    missing = [f"{menu} ▸ {a.text()}" for menu, a in actions if a.shortcut().isEmpty()]
    assert missing == []
    keys = [a.shortcut().toString() for _, a in actions]
    assert len(set(keys)) == len(keys), keys
    # Open Recent entries are reached with their number (a mnemonic).
    recent.add("photos", [make_image(tmp_path / f"{i}.jpg") for i in range(3)])
    w.recent_menu.rebuild()
    entries = [a.text() for a in w.recent_menu.actions() if a.data()]
    assert [t[:3] for t in entries] == ["&1 ", "&2 ", "&3 "]


@pytest.mark.parametrize("tab", [0, 1, 2])  # Classify, Train, Evaluate
def test_tab_order_reaches_only_named_widgets(qtbot, window_with_photos, tab):
    w, _ = window_with_photos
    w.tabs.setCurrentIndex(tab)
    start = w.tabs.tabBar()
    start.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is start)
    seen = []
    for _ in range(60):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        widget = QApplication.focusWidget()
        if widget is start:
            break
        seen.append(widget)
    else:
        pytest.fail("Tab never came back to the tab bar")
    assert len(seen) >= {0: 3, 1: 12, 2: 2}[tab]
    assert [type(x).__name__ for x in seen if not x.accessibleName()] == []
    if tab == 0:
        assert seen[0] is w.classify_tab.list  # the photo list first, then its verdict panel
    elif tab == 1:
        names = [x.accessibleName() for x in seen]
        assert names.index("Backbone") < names.index("Mode") < names.index("Epochs") < names.index("Learning rate")


def test_space_on_the_list_toggles_the_why_heatmap(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QPushButton

    from dogbreed_desktop.gui.verdict_panel import VerdictPanel

    if not hasattr(VerdictPanel(QWidget()), "why"):  # a build before issue 10's button: give it a plain one
        original = VerdictPanel.__init__

        def with_button(self, *args, **kwargs):
            original(self, *args, **kwargs)
            self.why = QPushButton("Why?", self)
            self.why.setCheckable(True)

        monkeypatch.setattr(VerdictPanel, "__init__", with_button)
    w = make_window(qtbot)
    w.open_from_outside([make_image(tmp_path / "dog.png", format="PNG")])
    qtbot.waitUntil(lambda: w.classify_tab.model.rowCount() == 1)
    why, photos = w.classify_tab.panel.why, w.classify_tab.list
    w.activateWindow()
    photos.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is photos)
    assert not why.isChecked()
    qtbot.keyClick(photos, Qt.Key.Key_Space)
    assert why.isChecked()
    qtbot.keyClick(photos, Qt.Key.Key_Space)
    assert not why.isChecked()
    edit = w.train_tab.data.path_edit
    w.tabs.setCurrentIndex(1)
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_Space)  # a space typed in a field stays a space
    assert edit.text() == " " and not why.isChecked()

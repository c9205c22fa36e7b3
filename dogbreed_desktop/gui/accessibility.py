"""Accessible names for every widget a screen reader or the Tab key can reach.

A widget keeps a name it was given. Otherwise its name comes, in order, from: its class (custom widgets below),
the text of a button or check box, the label beside it in its layout (which also becomes its buddy, so the
label's mnemonic works), a line edit's placeholder, its tool tip, or the group box it sits in.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QAbstractScrollArea, QFormLayout, QGridLayout, QGroupBox, QLabel, QLayout,
    QLineEdit, QScrollArea, QTabBar, QTabWidget, QWidget,
)

# Custom widgets, by class name (no imports: the classes live all over gui/).
BY_CLASS = {
    "ResultsList": "Photos and their verdicts",
    "PhotoView": "Selected photo",
    "BreedChart": "Most likely breeds",
    "CurvesPanel": "Training curves",
    "RunsList": "Earlier runs",
    "CountChart": "Images per class",
}


def _plain(text: str) -> str:
    text = re.sub(r"<[^>]+>", " ", text or "").replace("&&", "\0").replace("&", "").replace("\0", "&")
    return " ".join(text.replace("…", "").split()).strip(" :")


def _label_beside(widget: QWidget) -> QLabel | None:
    """The QLabel to the left of `widget` in whichever layout holds it."""
    parent = widget.parentWidget()
    layout = parent.layout() if parent is not None else None
    return _search(layout, widget) if layout is not None else None


def _search(layout: QLayout, widget: QWidget) -> QLabel | None:
    if isinstance(layout, QFormLayout):
        label = layout.labelForField(widget)
        if isinstance(label, QLabel):
            return label
    if isinstance(layout, QGridLayout):
        index = layout.indexOf(widget)
        if index >= 0:
            row, col, _, _ = layout.getItemPosition(index)
            item = layout.itemAtPosition(row, col - 1) if col > 0 else None
            left = item.widget() if item is not None else None
            return left if isinstance(left, QLabel) else None
    previous = None
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item.widget() is widget:
            return previous if isinstance(previous, QLabel) else None
        if item.layout() is not None:
            found = _search(item.layout(), widget)
            if found is not None:
                return found
        if item.widget() is not None:  # spacers and stretches in between do not count
            previous = item.widget()
    return None


def _tab_page_title(widget: QWidget) -> str:
    """The title of the nearest tab page holding `widget` ("" if none)."""
    page, parent = widget, widget.parentWidget()
    while parent is not None:
        tabs = parent.parentWidget()
        if isinstance(tabs, QTabWidget) and tabs.indexOf(page) >= 0:
            return _plain(tabs.tabText(tabs.indexOf(page)))
        page, parent = parent, parent.parentWidget()
    return ""


def name_for(widget: QWidget) -> str:
    if isinstance(widget, (QTabBar, QTabWidget)):  # nested tabs are named after the page they sit on
        holder = widget.parentWidget() if isinstance(widget, QTabBar) else widget
        outer = _tab_page_title(holder) if holder is not None else ""
        return f"{outer} views" if outer else "Views"
    for cls in type(widget).__mro__:
        if cls.__name__ in BY_CLASS:
            return BY_CLASS[cls.__name__]
    if isinstance(widget, QScrollArea) and widget.widget() is not None:
        return name_for(widget.widget())
    if isinstance(widget, QAbstractButton) and _plain(widget.text()):
        return _plain(widget.text())
    label = _label_beside(widget)
    if label is not None and _plain(label.text()):
        label.setBuddy(widget)
        return _plain(label.text())
    if isinstance(widget, QLineEdit) and widget.placeholderText():
        return _plain(widget.placeholderText())
    if widget.toolTip():
        return _plain(widget.toolTip())
    parent = widget.parentWidget()
    if isinstance(parent, QAbstractScrollArea) and widget is parent.viewport():
        return name_for(parent) or parent.accessibleName()
    kind = "list" if isinstance(widget, QAbstractItemView) else type(widget).__name__.removeprefix("Q")
    page_title = _tab_page_title(widget)
    while parent is not None:
        if isinstance(parent, QTabWidget) and page_title:
            return f"{page_title} ({kind})"  # on a page of a tab widget, nearer than any group box
        if isinstance(parent, QGroupBox) and parent.title():
            return f"{_plain(parent.title())} ({kind})"
        if isinstance(parent, QAbstractScrollArea) and parent.accessibleName():
            return parent.accessibleName()
        parent = parent.parentWidget()
    return ""


def name_widgets(root: QWidget) -> list[QWidget]:
    """Give every unnamed widget under `root` a name; returns those still without one."""
    unnamed = []
    for widget in [root, *root.findChildren(QWidget)]:
        if widget.accessibleName() or isinstance(widget, QLabel) or widget.window() is not root.window():
            continue  # a label's text is its name already; popups (a combo box's list) are named by Qt
        name = name_for(widget)
        if name:
            widget.setAccessibleName(name)
        elif widget.focusPolicy() != Qt.FocusPolicy.NoFocus:
            unnamed.append(widget)
    return unnamed

"""The window's small parts on their own: verdict wording, export table, chart, about box, empty state."""

from __future__ import annotations

import pytest

from dogbreed_desktop.gui import results_table
from dogbreed_desktop.gui.verdict import headline, percent, ranked, verdict_line

pytestmark = pytest.mark.gui
NAMES = ("Beagle", "Pug", "Boxer", "Whippet")


def test_a_confident_verdict_names_the_breed():
    assert verdict_line([0.05, 0.91, 0.03, 0.01], NAMES, "breed") == "Pug, 91% sure"
    assert headline([0.05, 0.91, 0.03, 0.01], NAMES, "breed") == ("Pug", "91%")


def test_under_the_threshold_it_says_it_is_not_sure():
    probs = [0.30, 0.41, 0.2, 0.09]
    assert verdict_line(probs, NAMES, "unsure") == "Not sure: maybe Pug (41%) or Beagle (30%)"
    assert headline(probs, NAMES, "unsure") == ("Maybe Pug", "41%")


def test_ranking_and_percentages():
    assert ranked([0.1, 0.4, 0.4, 0.1], 3) == [1, 2, 0]
    assert [percent(p) for p in (0.0004, 0.074, 0.5, 0.9996)] == ["<0.1%", "7.4%", "50%", ">99.9%"]


def test_export_table_has_the_verdict_and_top_k_columns_and_error_rows(tmp_path):
    from types import SimpleNamespace as Row

    table = results_table.rows([
        Row(path="a.jpg", probabilities=(0.1, 0.6, 0.2, 0.1), error="", verdict="breed", dog_probability=0.98,
            looks_like=None),
        Row(path="cat.jpg", probabilities=(0.5, 0.3, 0.1, 0.1), error="", verdict="not_a_dog", dog_probability=0.01,
            looks_like="tabby cat"),
        Row(path="b.jpg", probabilities=None, error="empty file", verdict="breed", dog_probability=None,
            looks_like=None)], ("beagle", "pug", "boxer", "whippet"), NAMES, k=2)
    assert table[0] == ["path", "error", "verdict", "breed", "name", "probability", "dog_probability", "looks_like",
                        "breed_1", "name_1", "probability_1", "breed_2", "name_2", "probability_2"]
    assert table[1] == ["a.jpg", "", "breed", "pug", "Pug", "0.600000", "0.980000", "",
                        "pug", "Pug", "0.600000", "boxer", "Boxer", "0.200000"]
    # an exported cat reads as a cat: no breed in `breed`, the nearest breeds kept in the top-k columns
    assert table[2] == ["cat.jpg", "", "not_a_dog", "", "", "", "0.010000", "tabby cat",
                        "beagle", "Beagle", "0.500000", "pug", "Pug", "0.300000"]
    assert table[3] == ["b.jpg", "empty file"] + [""] * 12
    results_table.write_csv(tmp_path / "r.csv", table)
    assert (tmp_path / "r.csv").read_text().splitlines()[1] == \
        "a.jpg,,breed,pug,Pug,0.600000,0.980000,,pug,Pug,0.600000,boxer,Boxer,0.200000"
    assert results_table.to_tsv(table).splitlines()[3] == "b.jpg\tempty file" + "\t" * 12


def test_chart_sizes_itself_to_its_rows_and_paints(qtbot):
    from dogbreed_desktop.gui.breed_chart import BreedChart

    chart = BreedChart()
    qtbot.addWidget(chart)
    chart.set_scores([(f"Breed {i}", 1 / 120) for i in range(120)])
    assert chart.height() == 2 * chart.MARGIN + 120 * chart.ROW
    chart.resize(300, chart.height())
    assert filled_lengths(chart)[-1] == pytest.approx(chart.BAR, abs=2)  # the last row too: a minimal bar
    chart.set_scores([("Pug", 0.9), ("Boxer", 0.1)])
    assert chart.values() == [0.9, 0.1] and chart.names() == ["Pug", "Boxer"]
    width = chart.width() - 2 * chart.MARGIN
    assert filled_lengths(chart) == pytest.approx([0.9 * width, 0.1 * width], abs=3)  # bars as long as the odds


def filled_lengths(chart) -> list[int]:
    """The painted length of each row's bar, in pixels: those that differ from the empty end of its track."""
    image = chart.grab().toImage()
    lengths = []
    for i in range(len(chart.values())):
        y = chart.MARGIN + i * chart.ROW + (chart.ROW - 6) - chart.BAR // 2  # the middle of the bar
        empty = image.pixelColor(chart.width() - chart.MARGIN - chart.BAR, y)
        lengths.append(sum(image.pixelColor(x, y) != empty for x in range(chart.MARGIN, chart.width() - chart.MARGIN)))
    return lengths


def test_about_names_versions_and_licences():
    from dogbreed_desktop.gui.about import about_html

    html = about_html(None)
    assert "PySide6" in html and "PyTorch" in html and "Apache License 2.0" in html and "ImageNet" in html


def test_the_empty_window_invites_a_drop(qtbot):
    from dogbreed_desktop.gui.main_window import MainWindow

    window = MainWindow(device="cpu")  # no model loaded: start() is never called
    qtbot.addWidget(window)
    window.show()
    tab = window.classify_tab
    assert window.windowTitle() == "Dog Breed Studio" and not window.windowIcon().isNull()
    assert tab.hint.isVisible() and not tab.splitter.isVisible()
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Classify", "Train", "Evaluate"]
    menus = {a.text().replace("&", "") for m in window.menuBar().actions() for a in m.menu().actions()}
    assert {"Open Photos…", "Open Model…", "Paste Photo", "Export Results as CSV…", "Quit"} <= menus

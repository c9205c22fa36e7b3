"""The window's "not a dog" and "unknown breed" wording, the Model menu and the "Why?" heatmap, through real
signals."""

from __future__ import annotations

import pytest
from gui_support import drop_files, make_window

from dogbreed_desktop.gui.photo_view import PhotoView
from dogbreed_desktop.gui.results_model import DONE, HeadlineRole, ResultsModel, Row, SureRole, UnknownBreedRole
from dogbreed_desktop.gui.verdict_panel import VerdictPanel

pytestmark = pytest.mark.gui
NAMES = ("Pug", "Beagle", "Boxer")


def _panel(qtbot) -> VerdictPanel:
    panel = VerdictPanel(PhotoView())
    qtbot.addWidget(panel)
    return panel


def _listed(row: Row) -> ResultsModel:
    """The photo list's model holding `row` as its one finished photo."""
    model = ResultsModel()
    model.set_class_names(NAMES)
    model.add_paths([row.path])
    model._rows[0] = row
    return model


def test_panel_and_list_say_no_dog_and_grey_the_chart(qtbot):
    panel = _panel(qtbot)
    row = Row("/photos/cat.jpg", DONE, (0.6, 0.3, 0.1), verdict="not_a_dog", looks_like="tabby cat")
    panel.show_row(row, NAMES)
    assert panel.verdict.text() == "No dog found - looks more like a tabby cat"
    assert panel.chart.is_greyed() and "if it were a dog" in panel.chart_title.text().lower()
    assert panel.chart.names()[0] == "Pug"  # still there, greyed, under that title
    panel.show_row(Row("/photos/pug.jpg", DONE, (0.6, 0.3, 0.1)), NAMES)
    assert panel.verdict.text().startswith("Pug, 60%") and not panel.chart.is_greyed()
    model = _listed(row)
    assert model.data(model.index(0), HeadlineRole) == ("No dog - a tabby cat?", "")


def test_panel_and_list_say_a_dog_of_a_breed_it_does_not_know(qtbot):
    panel = _panel(qtbot)
    row = Row("/photos/spots.jpg", DONE, (0.68, 0.2, 0.12), verdict="unknown_breed", looks_like="Dalmatian")
    panel.show_row(row, NAMES)
    assert panel.verdict.text() == "A dog, but not a breed I know - looks like a Dalmatian"
    assert panel.chart.is_greyed() and panel.chart_title.text() == "Nearest breeds it knows"
    assert "color" in panel.verdict.styleSheet()  # its own tone, from the theme
    model = _listed(row)
    index = model.index(0)
    assert model.data(index, HeadlineRole) == ("Unknown breed - a Dalmatian?", "")
    assert model.data(index, UnknownBreedRole) and not model.data(index, SureRole)  # 68% is no breed result


@pytest.fixture(scope="module")
def three_photos(real_data):
    from training.holdout import not_dogs_dir, not_dogs_split, stanford_split

    folder = not_dogs_dir(real_data)
    if not (folder / "manifest.csv").is_file():
        pytest.skip("the not-dogs folder is not beside DOGBREED_DATA")
    held = not_dogs_split(folder)["heldout"]
    cat = next(p for p, c in held if c == "cat")
    person = next(p for p, c in held if c == "person")
    dog = stanford_split(real_data)["test"][40][0]
    return cat, person, dog


def test_dropping_a_cat_a_person_and_a_dog(qtbot, three_photos):
    window = make_window(qtbot)
    tab = window.classify_tab
    with qtbot.waitSignal(tab.request_finished, timeout=120_000):
        assert drop_files(tab, list(three_photos))
    rows = {r.path: r for r in tab.model.rows()}
    cat, person, dog = (rows[str(p)] for p in three_photos)
    assert cat.verdict == "not_a_dog" and person.verdict == "not_a_dog" and dog.verdict != "not_a_dog"
    for i, r in enumerate(tab.model.rows()):
        title, _ = tab.model.data(tab.model.index(i), HeadlineRole)
        assert title.startswith("No dog") == (r.verdict == "not_a_dog")
    tab.list.select_row(tab.model.row_of(str(three_photos[0])))
    assert tab.panel.verdict.text().startswith("No dog found - looks more like ")
    assert tab.panel.chart.is_greyed()

    # "Why?" lights up the dog: an overlay arrives for the selected photo
    tab.list.select_row(tab.model.row_of(str(three_photos[2])))
    assert not tab.panel.chart.is_greyed()
    with qtbot.waitSignal(tab.heatmaps.ready, timeout=60_000):
        tab.panel.why.setChecked(True)
    qtbot.waitUntil(tab.panel.photo.has_overlay, timeout=5_000)
    tab.panel.why.setChecked(False)
    assert not tab.panel.photo.has_overlay()

    # Model ▸ Accurate reclassifies with the ensemble and changes the chart
    before = tab.model.row(tab.model.row_of(str(three_photos[2]))).probabilities
    with qtbot.waitSignal(window.client.model_loaded, timeout=120_000):
        window.model_actions["accurate"].trigger()
    assert window.model_actions["accurate"].isChecked() and not window.model_actions["fast"].isChecked()
    qtbot.waitUntil(lambda: all(r.state == DONE for r in tab.model.rows()), timeout=120_000)
    after = tab.model.row(tab.model.row_of(str(three_photos[2]))).probabilities
    assert after != before

"""The upload page in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium):
pick a photo, see its breed and the bar chart, as the model says."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import make_image
from server_support import serving

from dogbreed_desktop.server import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver (scripts/test-system-libs.sh)")


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,650"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # never downloads a driver
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def photos_to_upload(tmp_path: Path) -> list[Path]:
    root = os.environ.get("DOGBREED_DATA")
    if root and (Path(root) / "train").is_dir():  # real dogs when the set is there
        train = Path(root) / "train"
        return [train / "0001f9d23fc36befb8e383653dd84e4a.jpg", train / "0002a4ec837714d7a520608050c60096.jpg"]
    return [make_image(tmp_path / "brown.jpg", color=(150, 100, 60), size=(320, 240))]


def test_page_shows_breed_and_chart_for_uploaded_photo(browser, default_classifier, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    photos = photos_to_upload(tmp_path)
    expected = {p.name: r for p, r in zip(photos, default_classifier.predict(photos, top_k=10))}
    with serving(create_app(default_classifier)) as url:
        browser.get(url + "/")
        assert browser.title == "Dog Breed Studio"
        # chromedriver takes only canonical paths (CI reaches the photos through ../shared)
        browser.find_element(By.ID, "file").send_keys("\n".join(str(p.resolve()) for p in photos))

        def answered(driver):
            cards = driver.find_elements(By.CSS_SELECTOR, ".card")
            done = [c for c in cards if c.find_elements(By.CSS_SELECTOR, ".bars, .error")]
            return len(cards) == len(photos) == len(done) and cards

        cards = WebDriverWait(browser, 60).until(answered)
        WebDriverWait(browser, 10).until(lambda d: "120 breeds" in d.find_element(By.ID, "model").text)
        for card in cards:
            want = expected[card.find_element(By.CSS_SELECTOR, ".file").text]
            assert card.find_element(By.CSS_SELECTOR, ".breed").text == f"{want.name} · {100 * want.probability:.1f}%"
            rows = card.find_elements(By.CSS_SELECTOR, ".bars > div")
            assert [r.text for r in rows[0::3]] == [s.name for s in want.top_k]  # a bar per breed, best first
            widths = [b.size["width"] for b in card.find_elements(By.CSS_SELECTOR, ".bar")]
            assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
        shot = Path(os.environ.get("DOGBREED_SCREENSHOT_DIR", tmp_path)) / "web_page.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

"""The upload page in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium):
pick a photo, see its breed and the bar chart, as the model says. And the original project's front end as it
calls the API: a page from another origin posts the photo and names the breed from its DogBreedMap.json."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import make_image
from server_support import original_breed_map, serving

from dogbreed_desktop.core.breeds import find_breed
from dogbreed_desktop.server import ServerSettings, create_app
from dogbreed_desktop.server.original_api import original_names

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver (scripts/test-system-libs.sh)")]


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,650"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, where CORS errors go
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


# The original client's request, as its source makes it: `fetch` of a FormData with the photo in field `image`,
# named uploadedContent.jpeg, to <api>/api/predictImage; then `DogBreedMap[prediction]`.
ORIGINAL_CLIENT = """<!doctype html><meta charset="utf-8"><title>original client</title>
<input type="file" id="file"><p id="out"></p>
<script>
const api = new URLSearchParams(location.search).get("api");
document.getElementById("file").addEventListener("change", async (event) => {
  const out = document.getElementById("out");
  try {
    const map = await (await fetch("DogBreedMap.json")).json();
    const form = new FormData();
    form.append("image", event.target.files[0], "uploadedContent.jpeg");
    const answer = await (await fetch(api + "/api/predictImage", {method: "POST", body: form})).json();
    out.textContent = map[answer.prediction] || "Image classification failed (no breed)";
  } catch (error) {
    out.textContent = "Image classification failed: " + error;
  }
});
</script>
"""


@contextmanager
def page_origin(folder: Path):
    """Serve `folder` from a second loopback origin (another port), as the front end's own server would."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            thread.join(10)


def original_client_says(browser, page: str, api: str, photo: Path) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{page}/index.html?api={api}")
    browser.find_element(By.ID, "file").send_keys(str(photo.resolve()))
    return WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "out").text)


def test_original_front_end_from_another_origin_names_the_breed(browser, default_classifier, tmp_path):
    table = original_breed_map() or {str(i): n for i, n in enumerate(original_names())}
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(ORIGINAL_CLIENT)
    (site / "DogBreedMap.json").write_text(json.dumps(table))
    photo = photos_to_upload(tmp_path)[0]
    want = default_classifier.predict([photo])[0]
    index = next(i for i, n in table.items() if find_breed(n).id == want.breed)
    with page_origin(site) as page:
        assert page.rsplit(":", 1)[0] == "http://127.0.0.1"  # same host, another port: another origin
        with serving(create_app(default_classifier, ServerSettings(allow_origins=(page,)))) as api:
            assert api != page
            shown = original_client_says(browser, page, api, photo)
            if want.verdict in ("not_a_dog", "unknown_breed"):  # the synthetic photo may be no dog (no DOGBREED_DATA)
                assert shown == "Image classification failed (no breed)"
            else:
                assert shown == table[index], shown
            if photo.name == "0001f9d23fc36befb8e383653dd84e4a.jpg":  # from DOGBREED_DATA
                assert shown == "French bulldog"  # the photo's true breed, by the original's own table
        browser.get_log("browser")  # start the next page's console afresh
        with serving(create_app(default_classifier)) as api:  # started without --allow-origin
            shown = original_client_says(browser, page, api, photo)
            assert shown.startswith("Image classification failed: TypeError"), shown
            assert any("blocked by CORS policy" in e["message"] for e in browser.get_log("browser"))

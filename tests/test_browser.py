"""The pages open in a real browser (headless Chromium): no console errors, every image drawn.

`.ci/run` installs Debian's chromium and chromium-driver so that this runs in CI; on a machine
without them it is skipped, saying so.
"""

import shutil
import time

import pytest

from dllab.experiments import run_experiment
from dllab.report import render_index

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no chromium/chromedriver here (apt-get install chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def tour_page(tmp_path_factory):
    root = tmp_path_factory.mktemp("tour")
    folders = [root / name for name in ("perceptron-xor", "digits-mlp")]
    for folder in folders:
        run_experiment(folder.name, quick=True, out=str(folder), quiet=True)
    return render_index(folders, root / "index.html", title="dllab tour")  # as the tour does


def open_page(browser, path) -> list[int]:
    browser.get(path.resolve().as_uri())
    browser.get_log("browser")  # drop messages from before this page
    browser.refresh()
    loaded = (
        "return document.readyState === 'complete'"
        " && Array.from(document.images).every(i => i.complete);"
    )
    deadline = time.monotonic() + 30
    while not browser.execute_script(loaded) and time.monotonic() < deadline:
        time.sleep(0.1)
    widths = browser.execute_script("return Array.from(document.images, i => i.naturalWidth);")
    errors = [m for m in browser.get_log("browser") if m["level"] == "SEVERE"]
    assert errors == []
    return widths


def test_the_tour_index_loads_with_every_image_drawn(browser, tour_page):
    widths = open_page(browser, tour_page)
    assert len(widths) >= 4 and all(w > 0 for w in widths)
    assert "dllab tour" in browser.title


def test_each_run_page_loads_with_every_image_drawn(browser, tour_page):
    for report in sorted(tour_page.parent.glob("*/report.html")):
        widths = open_page(browser, report)
        assert widths and all(w > 0 for w in widths)


def test_a_page_comparing_two_runs_loads_with_their_curves_overlaid(browser, tmp_path):
    folders = [tmp_path / "runs" / f"seed{seed}" for seed in (0, 1)]
    for seed, folder in enumerate(folders):
        run_experiment("digits-mlp", quick=True, seed=seed, out=str(folder), quiet=True)
    page = render_index(folders, tmp_path / "compare.html")
    widths = open_page(browser, page)
    assert len(widths) >= 5 and all(w > 0 for w in widths)  # the overlay, then each run's
    assert browser.title == "2 runs of digits-mlp: A deep feed-forward classifier on the 8x8 digits"

"""The run report and the compare report in real headless Chromium: no console errors, charts drawn."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from synthetic import KEYS, make_run_dir

from bss_loadtest.reports.baseline import save_baseline
from bss_loadtest.reports.compare import run_compare

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(120),
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian packages chromium and chromium-driver (apt-get install -y chromium chromium-driver)"),
]


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}", "--window-size=1280,1600"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("browser")
    base = make_run_dir(root, "base", duration_s=60, total_requests=6_000, seed=1)
    run = make_run_dir(root, "run", duration_s=60, total_requests=6_000, seed=2, slow={KEYS[3]: 50.0})
    save_baseline(base, root / "baselines")
    _, paths = run_compare(run, baselines_root=root / "baselines", formats=["html"])
    return {"run report": run / "report.html", "compare report": paths["html"]}


@pytest.mark.parametrize("page", ["run report", "compare report"])
def test_page_renders_in_chromium(driver, pages, page, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    driver.get(pages[page].resolve().as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    charts = driver.find_elements(By.CSS_SELECTOR, "img.chart, svg")
    assert charts, "no chart on the page"
    for chart in charts:
        size = chart.size
        assert size["width"] > 100 and size["height"] > 100, size
        if chart.tag_name == "img":
            assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", chart) > 0
    severe = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    assert severe == []
    png = driver.get_screenshot_as_png()
    (tmp_path / f"{page.replace(' ', '-')}.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 10, "screenshot is (almost) one colour"
    assert driver.find_element(By.TAG_NAME, "h1").text

"""The web UI's start form offers the profiles; picking one runs it; `manual` honours the form.

Real Locust web UI, real headless Chromium (Debian packages chromium, chromium-driver).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest
from tests.e2e.runs import ROOT, free_port

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("chromium and chromium-driver are required (./dev test installs them)")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile_dir = tempfile.mkdtemp()
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--disable-sync", f"--user-data-dir={profile_dir}", "--window-size=1280,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
    shutil.rmtree(profile_dir, ignore_errors=True)


@pytest.fixture
def web_locust(reference_server, tmp_path):
    """A Locust with its web UI (not headless) on a free loopback port; ended by its PID."""
    port = free_port()
    report_dir = tmp_path / "reports"
    process = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests"), "--host", reference_server.url,
         "--web-port", str(port), "--report-dir", str(report_dir), "--prometheus-port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError(process.stdout.read().decode()[-3000:]) from None
            time.sleep(0.3)
    yield url, report_dir
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for_summary(report_dir, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(report_dir.glob("runs/*/summary.json"))
        if found:
            return json.loads(found[0].read_text()), found[0].parent
        time.sleep(0.5)
    raise AssertionError("no run finished in time")


def open_form(driver, url):
    from selenium.webdriver.common.by import By

    driver.get(url)
    advanced = [b for b in driver.find_elements(By.CSS_SELECTOR, "button") if b.text == "Advanced options"]
    assert advanced, "the start form has no advanced options"
    advanced[0].click()
    return driver.find_element(By.CSS_SELECTOR, "input[name=profile]")


def pick_profile(driver, field, name):
    from selenium.webdriver.common.by import By

    field.click()
    options = {li.text: li for li in driver.find_elements(By.CSS_SELECTOR, "[role=option]")}
    assert {"manual", "smoke", "load", "stress", "spike", "soak"} <= set(options), sorted(options)
    options[name].click()
    assert field.get_attribute("value") == name


def set_field(driver, name, value):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    element = driver.find_element(By.CSS_SELECTOR, f"input[name={name}]")
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.BACKSPACE)
    element.send_keys(value)


def start(driver):
    from selenium.webdriver.common.by import By

    [b for b in driver.find_elements(By.CSS_SELECTOR, "button") if b.text == "START"][0].click()


def test_picking_smoke_in_the_start_form_runs_the_smoke_profile(web_locust, browser):
    url, report_dir = web_locust
    field = open_form(browser, url)
    pick_profile(browser, field, "smoke")
    start(browser)
    summary, _ = wait_for_summary(report_dir)
    assert summary["profile"] == "smoke"
    assert summary["exit_code"] == 0 and summary["totals"]["failures"] == 0
    assert {t["expression"] for t in summary["thresholds"]} == {"p(95)<200", "rate<0.01"}
    assert len(summary["requests"]) > 50  # every endpoint once


def test_manual_profile_honours_the_form(web_locust, browser):
    url, report_dir = web_locust
    field = open_form(browser, url)
    pick_profile(browser, field, "manual")
    set_field(browser, "userCount", "3")
    set_field(browser, "spawnRate", "3")
    set_field(browser, "runTime", "4s")
    start(browser)
    summary, run_dir = wait_for_summary(report_dir)
    assert summary["profile"] == "manual" and summary["thresholds"] == []
    users = [int(float(r["users"])) for r in csv.DictReader((run_dir / "history.csv").open()) if r["name"] == "Aggregated"]
    assert max(users) == 3
    assert 3 <= summary["duration_s"] <= 12
    names = {u["name"] for u in summary["user_classes"]}
    assert names and "SmokeUser" not in names, names  # manual mode runs the CRUD users, not the smoke pass

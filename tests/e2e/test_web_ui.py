"""The web UI: the start form offers the profiles; picking one runs it; `manual` honours the form;
the suite's profile picker, Thresholds and Stages tabs and report link (run/webui.py).

Real Locust web UI, real headless Chromium (Debian packages chromium, chromium-driver). The
screenshots land in /tmp/webui-*.png (look at them: the DOM alone does not show a broken layout).
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
import urllib.error
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
def web_locust_factory(reference_server, tmp_path):
    """``start(*args, env=None)``: a Locust with its web UI (not headless) on a free loopback port,
    with ``args`` added to its command line; returns ``(url, report_dir)``. Each is ended by its PID."""
    processes: list[subprocess.Popen] = []

    def start(*args: str, env: dict | None = None) -> tuple[str, object]:
        port = free_port()
        report_dir = tmp_path / f"reports-{len(processes)}"
        log = tmp_path / f"locust-{len(processes)}.log"
        with log.open("wb") as output:  # a file, not a pipe nobody reads: a full pipe would block Locust
            process = subprocess.Popen(
                [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests"), "--host", reference_server.url,
                 "--web-port", str(port), "--report-dir", str(report_dir), "--prometheus-port", "0", *args],
                cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        processes.append(process)
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).read()
                return url, report_dir
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    raise AssertionError(log.read_text(errors="replace")[-3000:]) from None
                time.sleep(0.3)

    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def web_locust(web_locust_factory):
    """A Locust with its web UI and the suite's default options: ``(url, report_dir)``."""
    return web_locust_factory()


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


# -- the suite's additions (bss_loadtest/run/webui.py) ----------------------------------------

SECRET = "web-ui-must-not-show-this-3f9c"
SCREENSHOTS = "/tmp/webui-{}.png"


def wait_until(predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def get(url):
    """(status, body bytes) of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def rows(driver, selector):
    from selenium.webdriver.common.by import By

    return [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in driver.find_elements(By.CSS_SELECTOR, f"{selector} tbody tr")]


def open_tab(driver, title):
    from selenium.webdriver.common.by import By

    def find():
        tabs = [t for t in driver.find_elements(By.CSS_SELECTOR, "[role=tab]") if t.text.lower() == title.lower()]
        return tabs[0] if tabs else None

    wait_until(find, f"the {title} tab").click()


def pick_in_panel(driver, name):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, "bss-profile-select")).select_by_value(name)


def test_the_profile_picker_leads_the_start_form_and_shows_stages_and_thresholds(web_locust_factory, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from bss_loadtest.core import profiles

    url, report_dir = web_locust_factory(env={"BSS_CLIENT_SECRET": SECRET})
    browser.get(url)
    panel = browser.find_element(By.ID, "bss-profile-panel")
    users = browser.find_element(By.CSS_SELECTOR, "input[name=userCount]")
    assert panel.location["y"] < users.location["y"], "the profile picker is not above the form's fields"
    names = [o.text for o in Select(browser.find_element(By.ID, "bss-profile-select")).options]
    assert names == ["manual"] + [p.name for p in profiles.list_profiles()]

    pick_in_panel(browser, "load")
    # The choice is written into Locust's own Profile field, which the form submits.
    assert browser.find_element(By.CSS_SELECTOR, "input[name=profile]").get_attribute("value") == "load"
    stages = rows(browser, "table.bss-profile-stages")
    assert [row[4] for row in stages] == ["0 → 10", "10", "10 → 20", "20", "20 → 0"], stages
    assert stages[0][1:4] == ["0s", "2m", "2m"], stages[0]
    assert rows(browser, "table.bss-profile-thresholds") == [
        ["http_req_duration", "p(95)<500", "fail the run"],
        ["http_req_failed", "rate<0.05", "fail the run"],
        ["errors", "rate<0.1", "fail the run"],
    ]
    browser.save_screenshot(SCREENSHOTS.format("picker-load"))

    pick_in_panel(browser, "volume")  # a profile of k6 scenarios lists them instead of stages
    assert not browser.find_elements(By.CSS_SELECTOR, "table.bss-profile-stages")
    assert rows(browser, "table.bss-profile-scenarios") == [
        ["volume", "shared-iterations", "0s", "3h", "500", "the profile's"]]

    pick_in_panel(browser, "spike")
    assert ["http_req_failed", "rate<0.5", "abort the run (after 2m)"] in rows(browser, "table.bss-profile-thresholds")
    pick_in_panel(browser, "manual")
    assert not browser.find_elements(By.CSS_SELECTOR, "table.bss-profile-stages")
    assert browser.find_element(By.CSS_SELECTOR, "input[name=profile]").get_attribute("value") == "manual"

    # The routes: the profiles as JSON; no report before a run; nothing outside a run's own files.
    status, body = get(url + "bss/profiles")
    assert status == 200
    load = next(p for p in json.loads(body)["profiles"] if p["name"] == "load")
    assert [s["target"] for s in load["stages"]] == [10, 10, 20, 20, 0] and load["total_duration_s"] == 960
    assert get(url + "bss/report")[0] == 404
    outside = tmp_path / "outside.txt"
    outside.write_text("not part of any run")
    run = report_dir / "runs" / "evil"
    run.mkdir(parents=True)
    (run / "report.html").symlink_to(outside)
    (run / "notes.txt").write_text("not a run file")
    for path in ("bss/runs/evil/report.html", "bss/runs/evil/notes.txt", "bss/runs/../outside.txt",
                 "bss/runs/..%2F..%2Foutside.txt/report.html", "bss/runs/.evil/report.html"):
        assert get(url + path)[0] == 404, path
    # The suite's pages carry no secret.
    for path in ("bss/profiles", "bss/status", "bss/static/bss.js", "stats/requests"):
        status, body = get(url + path)
        assert status == 200 and SECRET.encode() not in body, path


def test_the_index_page_carries_no_client_secret(web_locust_factory):
    # Locust 2.47 writes the value of every web-UI option into its page, is_secret ones too.
    url, _ = web_locust_factory(env={"BSS_CLIENT_SECRET": SECRET})
    assert SECRET.encode() not in get(url)[1]


def test_a_time_scaled_load_run_shows_verdicts_stages_and_the_report(web_locust_factory, browser):
    from prometheus_client.parser import text_string_to_metric_families
    from selenium.webdriver.common.by import By

    metrics_port = free_port()
    url, report_dir = web_locust_factory("--time-scale", "0.02", "--prometheus-port", str(metrics_port))
    browser.get(url)
    pick_in_panel(browser, "load")
    start(browser)

    # Thresholds: the live verdicts, the same as bss_loadtest_threshold_passing.
    open_tab(browser, "Thresholds")
    verdicts = wait_until(lambda: [r for r in rows(browser, "table") if len(r) == 5 and r[3] in ("PASS", "FAIL")],
                          "live threshold verdicts")
    assert [(r[0], r[1]) for r in verdicts] == [("http_req_duration", "p(95)<500"), ("http_req_failed", "rate<0.05"),
                                                ("errors", "rate<0.1")]
    assert verdicts[0][2].endswith(" ms") and verdicts[1][2].endswith("%)") and verdicts[2][2].endswith("%)"), verdicts
    metrics = get(f"http://127.0.0.1:{metrics_port}/metrics")[1].decode()
    gauge = {s.labels["threshold"]: s.value for family in text_string_to_metric_families(metrics)
             for s in family.samples if family.name == "bss_loadtest_threshold_passing"}
    assert gauge == {f"{r[0]}: {r[1]}": (1.0 if r[3] == "PASS" else 0.0) for r in verdicts}, (gauge, verdicts)
    browser.save_screenshot(SCREENSHOTS.format("thresholds-live"))

    # Stages: planned against actual users, a chart and a row per stage.
    open_tab(browser, "Stages")
    chart = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#bss-stages-chart polyline.bss-actual"),
                       "the stages chart")
    assert browser.find_elements(By.CSS_SELECTOR, "#bss-stages-chart polyline.bss-planned") and chart
    stage_rows = wait_until(lambda: rows(browser, "table") if len(rows(browser, "table")) == 5 else None,
                            "the stage rows")
    assert [r[2] for r in stage_rows] == ["0 → 10", "10", "10 → 20", "20", "20 → 0"], stage_rows
    assert stage_rows[0][4] in ("running", "done")
    browser.save_screenshot(SCREENSHOTS.format("stages-running"))

    # The end: the results are written and the page links the run's report.html.
    summary, run_dir = wait_for_summary(report_dir)
    link = wait_until(lambda: browser.find_elements(By.ID, "bss-report-link"), "the report link", timeout=10)[0]
    banner = browser.find_element(By.ID, "bss-report").text
    passed = sum(t["passed"] for t in summary["thresholds"])
    assert summary["run_id"] in banner and f"all {passed} thresholds passed" in banner, banner
    assert browser.find_element(By.CSS_SELECTOR, "#bss-report:not(.bss-floating)"), "the link is not below the tabs"
    wait_until(lambda: all(r[4] == "done" for r in rows(browser, "table")), "every stage done")
    points = browser.find_element(By.CSS_SELECTOR, "#bss-stages-chart polyline.bss-actual").get_attribute("points")
    assert len(points.split()) > 20, points  # about one sample a second over 19 s, drawn as steps
    browser.save_screenshot(SCREENSHOTS.format("stages-ended"))

    # After the run: the tab (reloaded), /bss/status and summary.json hold the same final numbers.
    status = json.loads(get(url + "bss/status")[1])
    assert [t["observed"] for t in status["thresholds"]] == [t["observed"] for t in summary["thresholds"]]
    browser.get(url + "?tab=bss-thresholds")
    final = wait_until(lambda: [r for r in rows(browser, "table") if len(r) == 5], "the final verdicts")
    assert [r[2] for r in final] == [t["observed_text"] for t in status["thresholds"]]
    assert [r[3] == "PASS" for r in final] == [t["passed"] for t in summary["thresholds"]]
    browser.save_screenshot(SCREENSHOTS.format("thresholds-final"))

    link = wait_until(lambda: browser.find_elements(By.ID, "bss-report-link"), "the report link", timeout=10)[0]
    assert get(link.get_attribute("href")) == (200, (run_dir / "report.html").read_bytes())
    assert get(url + "bss/report") == (200, (run_dir / "report.html").read_bytes())  # Download Data's link
    link.click()
    wait_until(lambda: len(browser.window_handles) == 2, "the report's window")
    browser.switch_to.window(browser.window_handles[1])
    wait_until(lambda: summary["run_id"] in browser.title, "the report page")
    assert summary["run_id"] in browser.find_element(By.TAG_NAME, "h1").text
    browser.save_screenshot(SCREENSHOTS.format("report"))
    browser.close()
    browser.switch_to.window(browser.window_handles[0])

    # The next run's form (Locust's New dialog) has the picker too.
    wait_until(lambda: [b for b in browser.find_elements(By.CSS_SELECTOR, "button") if b.text.lower() == "new"],
               "Locust's New button")[0].click()
    dialog = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "[role=presentation] #bss-profile-panel"),
                        "the picker in the New dialog")
    assert dialog[0].find_element(By.ID, "bss-profile-select").get_attribute("value") == "load"
    browser.save_screenshot(SCREENSHOTS.format("new-dialog"))

"""End to end: a real `slapolicy serve` on loopback, the workbench in Debian's headless Chromium.

Driven by Selenium through Debian's `chromium-driver` (the driver and the browser come from the same
Debian source, so their versions always match; nothing is downloaded). `.ci/run` installs both with
apt-get; without them, or when the browser cannot start, every test here is skipped with the reason.

A screenshot of each checked page is kept in tests/artifacts/ (git-ignored) for a person to look at.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT

CHROMIUM = os.environ.get("SLAPOLICY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SLAPOLICY_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = ROOT / "tests" / "artifacts"
FRIDAY = json.loads((ROOT / "samples" / "advantshop-friday-evening.json").read_text("utf-8"))
VIEWER_TZ = "America/New_York"  # the viewer is not in Moscow: the page converts for them
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000"]


def _skip(reason):
    print(f"\nworkbench browser test skipped: {reason}", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`slapolicy serve` (this checkout's CLI) on a free loopback port, the bundled policies."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--host", "127.0.0.1", "--port", "0",
                                 "--reload-interval", "0"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 30
        while True:
            m = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", log.read_text("utf-8"))
            if m:
                break
            assert proc.poll() is None, "slapolicy serve exited:\n" + log.read_text("utf-8")
            assert time.monotonic() < deadline, "slapolicy serve did not start:\n" + log.read_text("utf-8")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{m.group(1)}"
        with urllib.request.urlopen(url + "/readyz", timeout=10) as r:
            assert r.status == 200
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        _skip(f"selenium is not installed ({exc}); pip install -e '.[test]'")
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            _skip(f"{path} not found: apt-get install -y {package}")
    profile = tempfile.mkdtemp(prefix="slapolicy-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except WebDriverException as exc:
        shutil.rmtree(profile, ignore_errors=True)
        _skip(f"the browser cannot start: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}")
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": VIEWER_TZ})
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver, name) -> Path:
    """A full-page PNG in tests/artifacts/ (the folder ignores itself in git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ignore = ARTIFACTS / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", "utf-8")
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    driver.set_window_size(1400, min(max(height + 40, 800), 8000))
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)
    assert path.stat().st_size > 10_000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


def wait_for(driver, css, timeout=20):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def fill(driver, ticket: dict, zone: str):
    """Type a ticket into the form, field by field, as a person would (selects chosen by their text)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def field(name):
        return driver.find_element(By.NAME, name)

    def text(name, value):
        el = field(name)
        el.clear()
        el.send_keys(value)

    def choose(name, value):
        Select(field(name)).select_by_visible_text(value)

    choose("policy", "advantshop — " + driver.find_element(
        By.CSS_SELECTOR, '#f-policy option[value="advantshop"]').text.split(" — ", 1)[1])
    text("id", ticket["id"])
    local = ticket["created_at"][:16]  # 2026-03-06T19:00
    # a datetime-local input takes keys in the browser's locale order; its value is locale-free
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))",
                          field("created_at"), local)
    text("created_at@tz", zone)
    choose("channel", ticket["channel"])
    choose("customer.segment", ticket["customer"]["segment"])
    choose("customer.license_active", "true")
    choose("product_version_current", "true")
    choose("topic", ticket["topic"])
    text("problems_count", str(ticket["problems_count"]))


def ticket_in_url(url: str) -> dict:
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    raw = q["ticket"]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def test_friday_evening_ticket_is_due_monday_14_00_and_the_timeline_marks_the_holiday(browser, server):
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(server + "/?policy=procrm-b24")  # another policy's example is in the form: fill over it
    wait_for(driver, "#ticket-form")
    ticket = dict(FRIDAY, id="AS-E2E")
    fill(driver, ticket, "Europe/Moscow")
    driver.find_element(By.ID, "decide").click()
    wait_for(driver, "#deadline-first_response")
    assert ticket_in_url(driver.current_url) == ticket  # the shareable URL holds exactly the typed ticket

    assert driver.find_element(By.ID, "ticket-id").text == "AS-E2E"
    due = driver.find_element(By.CSS_SELECTOR, "#deadline-first_response time.due")
    assert due.text == "Mon 9 Mar 2026 14:00"
    assert due.get_attribute("datetime") == "2026-03-09T11:00:00+00:00"
    assert "Europe/Moscow, UTC+03:00" in driver.find_element(By.CSS_SELECTOR, "#deadline-first_response td.due").text
    # the script adds the viewer's time: 11:00 UTC is 07:00 in New York (US summer time began on 8 March)
    viewer = driver.find_element(By.CSS_SELECTOR, "#deadline-first_response .viewer").text
    assert "07:00" in viewer and VIEWER_TZ in viewer
    assert driver.find_element(By.ID, "eligibility").text == "in scope"

    # the timeline: Monday 9 March is a public holiday, named, and the due mark is on it at 14:00
    import holidays

    name = holidays.country_holidays("RU", years=2026, language="en_US")[__import__("datetime").date(2026, 3, 9)]
    monday = driver.find_element(By.CSS_SELECTOR, 'svg.timeline g.tl-day[data-date="2026-03-09"]')
    assert "tl-day-holiday" in monday.get_attribute("class")
    assert monday.find_elements(By.CSS_SELECTOR, "rect.tl-holiday")
    assert name in monday.find_element(By.CSS_SELECTOR, "text.tl-band-name").text
    due_mark = monday.find_element(By.CSS_SELECTOR, "g.tl-mark-due")
    assert "due 14:00" in due_mark.text
    assert driver.find_element(By.CSS_SELECTOR, '#special-days li[data-date="2026-03-09"]').text.endswith("hours 09:00-18:00")
    rows = driver.find_elements(By.CSS_SELECTOR, "svg.timeline g.tl-day")
    assert [r.get_attribute("data-date") for r in rows] == ["2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09"]
    assert "(24 h)" in monday.find_element(By.CSS_SELECTOR, "text.tl-count").text
    assert driver.find_element(By.CSS_SELECTOR, "svg.timeline").size["width"] > 600  # drawn, not collapsed
    screenshot(driver, "workbench-friday-evening")

    # the same picture in the viewer's zone: the link the script fills in
    driver.find_element(By.ID, "tz-viewer").click()
    wait_for(driver, f'svg.timeline[data-timezone="{VIEWER_TZ}"]')
    assert driver.find_element(By.CSS_SELECTOR, 'g.tl-day[data-date="2026-03-09"] g.tl-mark-due').text.startswith("due 07:00")
    screenshot(driver, "workbench-friday-evening-new-york")

    # every browser message is clean (a CSP violation or a script error would be logged here)
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, errors


def test_a_script_in_the_ticket_id_shows_as_text(browser, server):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    driver = browser
    payload = "<script>alert(1)</script>"
    driver.get(server + "/")
    wait_for(driver, "#ticket-form")
    fill(driver, dict(FRIDAY, id=payload), "Europe/Moscow")
    driver.find_element(By.ID, "decide").click()
    wait_for(driver, "#ticket-id")
    time.sleep(0.3)
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - no alert was opened
    assert driver.find_element(By.ID, "ticket-id").text == payload
    assert driver.find_element(By.ID, "f-id").get_attribute("value") == payload
    assert not driver.find_elements(By.CSS_SELECTOR, "#decision script, .result script")
    screenshot(driver, "workbench-xss")


def test_clause_links_lead_to_the_regulation_and_back_to_the_rules(browser, server):
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(server + "/")
    wait_for(driver, "#deadline-first_response")
    link = driver.find_element(By.CSS_SELECTOR, "#deadline-first_response a.clause")
    href = link.get_attribute("href")
    link.click()
    wait_for(driver, "#regulation")
    if "#" not in href:  # engine/tools/render.py is not in this build: the page says so
        assert "not installed" in driver.find_element(By.CSS_SELECTOR, ".regulation-head").text
        return
    anchor = href.split("#", 1)[1]
    target = driver.find_element(By.ID, urllib.parse.unquote(anchor))
    assert target.is_displayed()
    rule_links = driver.find_elements(By.CSS_SELECTOR, '#regulation a[href^="#rule-"]')
    assert rule_links
    back = rule_links[0].get_attribute("href").split("#", 1)[1]
    rule_links[0].click()
    assert driver.find_element(By.ID, back).is_displayed()
    screenshot(driver, "workbench-regulation")

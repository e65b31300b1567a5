"""The HTML report and the workbench's Reports page in Debian's headless Chromium (issue 14).

The same set-up as tests/test_workbench_browser.py (its fixtures: a real `slapolicy serve` and the browser;
skipped with the reason when chromium / chromium-driver are missing, run by .ci/run). Charts count as drawn
when the browser has laid them out at a real size and the pixels of the chart area are not all one colour;
screenshots go to tests/artifacts/.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

pytest.importorskip("matplotlib")
from test_workbench_browser import browser, screenshot, server, wait_for  # noqa: E402,F401

FIXTURE = ROOT / "tests" / "fixtures" / "helpdesks" / "zendesk"
AS_OF = "2026-04-01T00:00:00Z"


@pytest.fixture(scope="module")
def tickets(tmp_path_factory):
    path = tmp_path_factory.mktemp("browser-report") / "zendesk.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        subprocess.run([sys.executable, str(ROOT / "cli.py"), "import", "--from", "zendesk", str(FIXTURE)], stdout=out,
                       stderr=subprocess.DEVNULL)
    return path


def _drawn(driver, element, name):
    """The element's on-screen pixels (a cropped screenshot) hold more than a few colours."""
    import io

    from PIL import Image

    rect = element.rect
    assert rect["width"] > 200 and rect["height"] > 100, (name, rect)
    png = element.screenshot_as_png
    colours = Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 8, (name, len(colours or ()))


def test_html_report_opens_with_its_charts_drawn(browser, tickets, tmp_path):
    from selenium.webdriver.common.by import By

    out = tmp_path / "report.html"
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "report", "--policy", "bitrix-inc", "--as-of", AS_OF,
                           "--format", "html", "--out", str(out), str(tickets)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    browser.get(out.as_uri())
    figures = browser.find_elements(By.CSS_SELECTOR, "figure[data-chart] svg")
    assert len(figures) == 3
    for figure in figures:
        _drawn(browser, figure, figure.find_element(By.XPATH, "..").get_attribute("data-chart"))
    assert browser.find_element(By.CSS_SELECTOR, "#breaches").text.count("ZD-10003") == 1
    screenshot(browser, "report-html")


def test_reports_page_upload_charts_and_breach_to_timeline(browser, server, tickets):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(server + "/workbench/reports")
    form = browser.find_element(By.CSS_SELECTOR, 'form[enctype="multipart/form-data"]')
    Select(form.find_element(By.NAME, "policy")).select_by_value("bitrix-inc")
    form.find_element(By.NAME, "as_of").send_keys(AS_OF)
    form.find_element(By.NAME, "file").send_keys(str(tickets))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "#report img.chart")
    images = browser.find_elements(By.CSS_SELECTOR, "#report img.chart")
    assert len(images) == 3
    for img in images:
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 200
        _drawn(browser, img, img.get_attribute("alt"))
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1400
    screenshot(browser, "workbench-reports")
    browser.find_element(By.LINK_TEXT, "ZD-10003").click()
    wait_for(browser, "svg.timeline")
    assert "ZD-10003" in browser.page_source


@pytest.mark.parametrize("path", ["/", "/workbench/reports", "/workbench/regulation/advantshop", "/workbench/diff"])
def test_pages_fit_a_500px_window(browser, server, path):
    """Issue 14's polish: at 500 px the try page was 810 px wide (a one-column grid sized by the timeline, tables)."""
    from selenium.webdriver.common.by import By

    browser.set_window_size(500, 900)
    try:
        browser.get(server + path)
        width = browser.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1], width
        if path == "/":
            label = browser.find_element(By.CSS_SELECTOR, 'label[for="f-customer-license_purchased_at"]')
            assert label.text.startswith("License purchased at")
            assert browser.find_element(By.ID, "f-created_at").get_attribute("value") == "2026-03-06T19:00:00"
    finally:
        browser.set_window_size(1400, 1000)

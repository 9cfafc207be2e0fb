"""End to end in a real browser (Debian's headless Chromium, driven by Selenium): what a canteen
manager and a finance officer do. Skipped, with the reason, where the browser is missing; CI
(FUPIN_REQUIRE_BROWSER=1) requires it."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

import db
from db.models import Purchase
from tests.web.conftest import PASSWORD

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
MISSING = None if CHROMIUM and DRIVER else "Debian's chromium and chromium-driver are not installed"
if MISSING and os.environ.get("FUPIN_REQUIRE_BROWSER"):
    raise RuntimeError(f"FUPIN_REQUIRE_BROWSER is set but {MISSING}")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(app):
    from waitress.server import create_server

    port = _free_port()
    srv = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    srv.close()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900", "--lang=zh-CN"):
        options.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)  # Debian's driver: no Selenium Manager
    driver.implicitly_wait(10)  # a click that submits a form returns before the next page is there
    driver.downloads = downloads
    yield driver
    driver.quit()


def _sign_in(browser, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(base + "/login")
    browser.find_element(By.ID, "username").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()
    assert name in browser.find_element(By.CSS_SELECTOR, "header .who .name").text  # signed in, home page loaded


def _count(engine) -> int:
    with db.unit_of_work(engine) as uow:
        return uow.session.scalar(select(func.count(Purchase.id)))


def test_a_managers_and_a_finance_officers_day(server, browser, engine, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _sign_in(browser, server, "mgr-hnu")
    assert "C01" in browser.find_element(By.ID, "canteens").text

    browser.get(server + "/purchases/new")
    fields = {"date": "2025-04-03", "supplier": "S07", "category": "VEG", "product": "青菜", "quantity": "60",
              "unit": "斤", "amount": "150", "ref": "BROWSER-1"}
    for name, value in fields.items():
        element = browser.find_element(By.NAME, name)
        if name == "date":  # a date input takes typed digits in the locale's order: set its value instead
            browser.execute_script("arguments[0].value = arguments[1]", element, value)
        else:
            element.clear()
            element.send_keys(value)
    Select(browser.find_element(By.NAME, "canteen")).select_by_value("C01")
    before = _count(engine)
    browser.find_element(By.ID, "save-purchase").click()
    assert "BROWSER-1" in browser.find_element(By.ID, "entries").text and _count(engine) == before + 1

    bad = tmp_path / "bad.csv"
    bad.write_text("日期,食堂,供应商,品类,品名,数量,单位,金额,单号\n2025-02-30,C01,S06,VEG,青菜,100,斤,300,B-1\n"
                   "2025-04-05,C01,S06,VEG,青菜,-1,斤,1元2,B-2\n", encoding="utf-8")
    browser.get(server + "/import")
    browser.find_element(By.ID, "file").send_keys(str(bad))
    browser.find_element(By.ID, "check").click()
    problems = browser.find_element(By.ID, "problems").text
    assert "A (日期)" in problems and "F (数量)" in problems and "H (金额)" in problems
    assert not browser.find_elements(By.ID, "confirm") and _count(engine) == before + 1

    good = tmp_path / "good.csv"
    good.write_text("日期,食堂,供应商,品类,品名,数量,单位,金额,单号\n2025-04-05,C01,S06,VEG,青菜,100,斤,300,G-1\n"
                    "2025-04-06,C02,S07,VEG,白菜,80,kg,240,G-2\n", encoding="utf-8")
    browser.get(server + "/import")
    browser.find_element(By.ID, "file").send_keys(str(good))
    browser.find_element(By.ID, "check").click()
    assert browser.find_elements(By.ID, "summary"), browser.find_element(By.TAG_NAME, "main").text
    assert "2" in browser.find_element(By.ID, "summary").text
    browser.find_element(By.ID, "confirm").click()
    assert "2" in browser.find_element(By.CSS_SELECTOR, "p.flash.ok").text  # back home, with the message
    assert _count(engine) == before + 3

    browser.get(server + "/canteens/C01?month=2025-04")
    assert browser.find_element(By.ID, "status").text in ("达标", "未达标")
    assert "%" in browser.find_element(By.ID, "share").text

    browser.get(server + "/canteens/C04?month=2025-04")  # another institution's canteen
    assert "未找到" in browser.find_element(By.TAG_NAME, "h1").text

    browser.find_element(By.CSS_SELECTOR, "form.inline button.link").click()  # sign out
    browser.find_element(By.ID, "sign-in")
    _sign_in(browser, server, "fin-hnu")
    browser.get(server + "/reports")
    assert browser.find_elements(By.NAME, "institution"), browser.find_element(By.TAG_NAME, "body").text
    browser.execute_script("arguments[0].value = '2025-03'", browser.find_element(By.NAME, "month"))
    Select(browser.find_element(By.NAME, "institution")).select_by_value("HNU-S")
    browser.find_element(By.ID, "issue").click()
    browser.find_element(By.LINK_TEXT, "下载").click()
    for _ in range(100):
        pdfs = list(Path(browser.downloads).glob("*.pdf"))
        if pdfs:
            break
        time.sleep(0.1)
    assert pdfs and pdfs[0].read_bytes()[:5] == b"%PDF-"


def test_a_planners_run_from_upload_to_map_and_pdf(server, browser, app, engine):
    """Upload the sample kindergarten data, run two counties as a job (a worker runs beside the
    server), wait for it, open a county's map, download report.pdf."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from commands.worker import writers
    from planners.worker import serve

    stop = threading.Event()
    worker = threading.Thread(target=serve, args=(engine, Path(app.instance_path), writers()),
                              kwargs={"should_stop": stop.is_set, "say": lambda _: None}, daemon=True)
    worker.start()
    try:
        _sign_in(browser, server, "planner")
        assert browser.current_url.endswith("/plans/")
        sample = Path(__file__).resolve().parents[2] / "data" / "kindergartens"
        browser.find_element(By.ID, "dataset-name").send_keys("全省样例")
        browser.find_element(By.ID, "dataset-files").send_keys(
            "\n".join(str(sample / n) for n in ("townships.csv", "villages.csv", "counties.csv")))
        browser.find_element(By.ID, "dataset-upload").click()
        assert "全省样例" in browser.find_element(By.ID, "dataset-list").text
        Select(browser.find_element(By.ID, "model")).select_by_value("kindergartens")
        browser.find_element(By.CSS_SELECTOR, "#run-form details summary").click()
        for code in ("BT", "WZS"):
            browser.find_element(By.CSS_SELECTOR, f"input[name=county][value={code}]").click()
        time_limit = browser.find_element(By.ID, "time_limit")
        time_limit.clear()
        time_limit.send_keys("5")
        browser.find_element(By.ID, "start").click()
        assert browser.find_elements(By.ID, "job"), browser.find_element(By.TAG_NAME, "body").text
        for _ in range(240):  # the page reloads itself every 3 s while the job is queued or running
            if browser.find_element(By.ID, "state").text == "已完成":
                break
            time.sleep(0.5)
        assert browser.find_element(By.ID, "state").text == "已完成", browser.find_element(By.TAG_NAME, "body").text
        assert "BT" in browser.find_element(By.ID, "county-table").text
        browser.find_elements(By.CLASS_NAME, "county-link")[0].click()
        svg = browser.find_element(By.CSS_SELECTOR, "#map svg")
        assert svg.size["width"] > 300 and browser.find_elements(By.CSS_SELECTOR, "#map svg .village")
        browser.back()
        browser.find_element(By.ID, "file-report-pdf").click()
        for _ in range(100):
            pdfs = list(Path(browser.downloads).glob("*.pdf"))
            if pdfs and not list(Path(browser.downloads).glob("*.crdownload")):
                break
            time.sleep(0.1)
        assert pdfs and pdfs[0].read_bytes()[:5] == b"%PDF-"
    finally:
        stop.set()
        worker.join(timeout=30)

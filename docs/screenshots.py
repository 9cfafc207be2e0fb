"""Pictures of the web application's main pages for docs/, taken in Debian's headless Chromium.

Start the demo first (`make web` prints the demo accounts), then:
    .venv/bin/python docs/screenshots.py --manager li PASSWORD --finance sheng PASSWORD --planner guihua PASSWORD

The planner's pictures upload the sample kindergarten data and run three counties (the worker
that `make web` starts runs them).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

DOCS = Path(__file__).resolve().parent
BAD = ("日期,食堂,供应商,品类,品名,数量,单位,金额,单号\n2025-02-30,C01,S06,VEG,青菜,100,斤,300,B-1\n"
       "2025-04-05,C01,S06,VEG,青菜,-1,斤,1元2,B-2\n2025-04-05,C09,S06,VEG,青菜,10,斤,30,B-3\n")


def browser(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1280,860", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(10)
    return driver


def sign_in(driver, base: str, name: str, password: str) -> None:
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    driver.find_element(By.CSS_SELECTOR, "header .who")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="http://127.0.0.1:8000")
    ap.add_argument("--manager", nargs=2, metavar=("NAME", "PASSWORD"), required=True)
    ap.add_argument("--finance", nargs=2, metavar=("NAME", "PASSWORD"), required=True)
    ap.add_argument("--planner", nargs=2, metavar=("NAME", "PASSWORD"))
    ap.add_argument("--month", default="2025-03")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        driver = browser(tmp / "profile")
        try:
            driver.get(args.base + "/login")
            driver.save_screenshot(str(DOCS / "web-login.png"))
            sign_in(driver, args.base, *args.manager)
            driver.get(f"{args.base}/?month={args.month}")
            driver.save_screenshot(str(DOCS / "web-home-manager.png"))
            driver.get(f"{args.base}/canteens/C01?month={args.month}")
            driver.save_screenshot(str(DOCS / "web-canteen-month.png"))
            bad = tmp / "采购明细.csv"
            bad.write_text(BAD, encoding="utf-8")
            driver.get(args.base + "/import")
            driver.find_element(By.ID, "file").send_keys(str(bad))
            driver.find_element(By.ID, "check").click()
            driver.find_element(By.ID, "problems")
            driver.save_screenshot(str(DOCS / "web-import-problems.png"))
            driver.find_element(By.CSS_SELECTOR, "form.inline button.link").click()
            driver.find_element(By.ID, "sign-in")
            sign_in(driver, args.base, *args.finance)
            driver.get(f"{args.base}/?month={args.month}")
            driver.save_screenshot(str(DOCS / "web-home-finance.png"))
            driver.get(args.base + "/reports")
            driver.save_screenshot(str(DOCS / "web-reports.png"))
            if args.planner:
                driver.find_element(By.CSS_SELECTOR, "form.inline button.link").click()
                driver.find_element(By.ID, "sign-in")
                sign_in(driver, args.base, *args.planner)
                planner_pictures(driver, args.base)
        finally:
            driver.quit()
    print("written: " + ", ".join(sorted(p.name for p in DOCS.glob("web-*.png"))))


def planner_pictures(driver, base: str) -> None:
    import time

    from selenium.webdriver.support.ui import Select

    sample = DOCS.parent / "data" / "kindergartens"
    driver.get(base + "/plans/")
    driver.find_element(By.ID, "dataset-name").send_keys("全省样例")
    driver.find_element(By.ID, "dataset-files").send_keys(
        "\n".join(str(sample / n) for n in ("townships.csv", "villages.csv", "counties.csv")))
    driver.find_element(By.ID, "dataset-upload").click()
    Select(driver.find_element(By.ID, "model")).select_by_value("kindergartens")
    driver.find_element(By.CSS_SELECTOR, "#run-form details summary").click()
    for code in ("BT", "WZS", "QZ"):
        driver.find_element(By.CSS_SELECTOR, f"input[name=county][value={code}]").click()
    driver.save_screenshot(str(DOCS / "web-plans.png"))
    driver.find_element(By.ID, "start").click()
    for _ in range(600):
        if driver.find_element(By.ID, "state").get_attribute("class").split()[-1] not in ("queued", "running"):
            break
        time.sleep(0.5)
    driver.save_screenshot(str(DOCS / "web-plan-run.png"))
    driver.find_elements(By.CLASS_NAME, "county-link")[0].click()
    driver.find_element(By.CSS_SELECTOR, "#map svg")
    driver.save_screenshot(str(DOCS / "web-plan-map.png"))


if __name__ == "__main__":
    main()

"""Screenshot a plan's report.html in headless Chromium (how docs/report.png is made).

    flowmatch optimise datasets/guigang -o out/guigang --report
    python docs/report_screenshot.py out/guigang/report.html docs/report.png
    python docs/report_screenshot.py out/guigang/report.html docs/report-map.png --section map

Needs Debian's ``chromium`` and ``chromium-driver`` and the test extra (selenium).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=2300, help="pixels of the page to keep, from the top")
    ap.add_argument("--section", default=None, help="only this section of the page (its id: worth, map...)")
    args = ap.parse_args()
    opts = Options()
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={args.width},{args.height}", "--hide-scrollbars"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    try:
        driver.get(args.html.resolve().as_uri())
        time.sleep(1.0)  # let plotly finish its transitions
        if args.section:
            from selenium.webdriver.common.by import By

            # the whole page in the window: a section below the first screen was cut at the window's edge
            height = int(driver.execute_script("return document.documentElement.scrollHeight"))
            driver.set_window_size(args.width, height)
            time.sleep(1.0)  # plotly redraws at the new size
            driver.find_element(By.ID, args.section).screenshot(str(args.png))
        else:
            driver.save_screenshot(str(args.png))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()

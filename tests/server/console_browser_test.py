#!/usr/bin/python3
"""The marketer console in a real browser (Debian's Chromium, driven by
chromedriver through Selenium) against the real server with the demo
retailer loaded through the real CLI.

Checks: a wrong token shows a clear error; a customer's placements render
and equal what gRPC Recommend (the CLI, same request) answers; every page
renders; the page requests nothing outside the server's origin and the
browser logs no error. Screenshots of each page go to --artifacts.

usage: console_browser_test.py --server=BIN --cli=BIN --artifacts=DIR
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def start_server(server, data_dir, log_path):
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [server, "--grpc_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0",
         "--http_address=127.0.0.1:0", "--data_dir=" + data_dir], stderr=log)
    for _ in range(600):
        text = open(log_path).read()
        m = re.search(r"serving gRPC on port (\d+).*HTTP on port (\d+)", text)
        if m:
            return proc, int(m.group(1)), int(m.group(2))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    sys.exit("server did not start:\n" + open(log_path).read())


def cli(binary, port, data_dir, *args):
    out = subprocess.run([binary, "--target=127.0.0.1:%d" % port, "--data_dir=" + data_dir, *args],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit("nextbest %s failed (%d): %s %s" % (" ".join(args), out.returncode, out.stdout,
                                                     out.stderr))
    return out.stdout


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 "--user-data-dir=" + tempfile.mkdtemp(prefix="nextbest-chromium-")]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = ChromeService(executable_path="/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


CHANNELS = {"app": "app", "newsletter": "email", "callcenter": "call_center"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--customers", type=int, default=400)
    a = ap.parse_args()
    os.makedirs(a.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="nextbest-console-")
    data = os.path.join(work, "data")
    proc, grpc_port, http_port = start_server(a.server, data, os.path.join(work, "server.log"))
    driver = None
    try:
        cli(a.cli, grpc_port, data, "demo-data", "--customers=%d" % a.customers)
        token = open(os.path.join(data, "admin_token")).read().strip()
        origin = "http://127.0.0.1:%d" % http_port
        driver = browser()
        wait = WebDriverWait(driver, 30)
        shot = lambda name: driver.save_screenshot(os.path.join(a.artifacts, name + ".png"))

        # A wrong token: a clear error, nothing rendered.
        driver.get(origin + "/console/")
        wait.until(EC.visibility_of_element_located((By.ID, "token"))).send_keys("wrong-token")
        driver.find_element(By.CSS_SELECTOR, "#signin button[type=submit]").click()
        driver.find_element(By.ID, "customer-id").send_keys("c1")
        driver.find_element(By.CSS_SELECTOR, "#customer-form button").click()
        error = wait.until(EC.visibility_of_element_located((By.ID, "error")))
        check("token was refused (HTTP 401)" in error.text, "wrong token: " + error.text)
        shot("wrong-token")

        # Signed in with a caller holding the scopes: the customer page.
        driver.find_element(By.ID, "signout").click()
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "#signin button[type=submit]").click()
        driver.find_element(By.CSS_SELECTOR, "#customer-form button").click()
        wait.until(lambda d: d.find_element(By.ID, "customer-out").get_attribute("data-loaded") == "c1")
        check(not driver.find_element(By.ID, "error").is_displayed(), "no error after signing in")
        profile = json.loads(cli(a.cli, grpc_port, data, "profile", "--customer=c1", "--json"))
        country = profile["customer"]["country"]
        # The customer's future, as gRPC's profile has it (P(alive) in whole per cent).
        future = profile.get("future")
        check(future is not None, "c1 has a future in the profile")
        text = driver.find_element(By.ID, "customer-out").text
        check("P(alive) %d %%" % round(100 * future["p_alive"]) in text,
              "the console shows c1's P(alive) (%s)" % future["p_alive"])
        cards = driver.find_elements(By.CSS_SELECTOR, "#placement-cards .card")
        check(len(cards) == 9, "a card per placement (%d)" % len(cards))
        compared = 0
        for card in cards:
            placement = card.get_attribute("data-placement")
            shown = [(li.get_attribute("data-product-id"), li.get_attribute("data-offer-id"))
                     for li in card.find_elements(By.CSS_SELECTOR, "ol.items > li")]
            channel = CHANNELS.get(placement.split(".")[0], "web")
            answer = subprocess.run(
                [a.cli, "--target=127.0.0.1:%d" % grpc_port, "--data_dir=" + data, "recommend",
                 "--customer=c1", "--placement=" + placement, "--country=" + country,
                 "--channel=" + channel, "--request_id=console-c1", "--preview", "--explain",
                 "--json"], capture_output=True, text=True)
            if answer.returncode != 0:  # e.g. a product page without a product
                check("failed" in card.get_attribute("class"),
                      "%s: the error is shown like gRPC's (%s)" % (placement, answer.stdout.strip()))
                continue
            items = json.loads(answer.stdout).get("items", [])
            expected = [(i.get("product_id", ""), i.get("offer", {}).get("offer_id", ""))
                        for i in items]
            check(shown == expected, "%s: console %s == gRPC %s" % (placement, shown, expected))
            compared += 1 if expected else 0
        check(compared >= 5, "compared %d non-empty placements" % compared)
        # The explanation expands.
        first = driver.find_element(By.CSS_SELECTOR,
                                    "[data-placement='homepage.speciaal_voor_jou'] ol.items details")
        first.find_element(By.TAG_NAME, "summary").click()
        check("sources" in first.find_element(By.TAG_NAME, "pre").text, "the explanation expands")
        driver.set_window_size(1400, 2400)  # the whole page, placements included
        shot("customer")
        driver.set_window_size(1400, 1000)

        for page, probe in [("segments", "#segments-out svg rect"),
                            ("offers", "#offers-out tbody tr"),
                            ("placements", "#placements-out .card"),
                            ("health", "#health-out .figure")]:
            driver.get(origin + "/console/#" + page)
            wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, probe)))
            check(not driver.find_element(By.ID, "error").is_displayed(), page + ": no error")
            shot(page)
            if page == "segments":
                text = driver.find_element(By.ID, "segments-out").text
                check("churn_risk" in text and "BG/NBD" in text,
                      "segments: churn-risk bands and the fitted models")
        figures = driver.find_element(By.ID, "health-out").text
        check("customers in memory\n%d" % a.customers in figures, "health: customers in memory")

        # Placements page: "try it for customer X".
        driver.get(origin + "/console/#placements")
        card = wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "#placements-out [data-placement='homepage.populair']")))
        card.find_element(By.TAG_NAME, "input").send_keys("c2")
        card.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: card.find_elements(By.CSS_SELECTOR, "ol.items > li"))
        check(len(card.find_elements(By.CSS_SELECTOR, "ol.items > li")) > 0, "try it: items")

        # Nothing outside this origin, and no error in the browser's log.
        urls = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        outside = [u for u in urls if not u.startswith(origin + "/")]
        check(not outside, "requests outside %s: %s" % (origin, outside))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
                  and "401" not in e["message"]]
        check(not errors, "browser errors: %s" % errors)
    finally:
        if driver is not None:
            driver.quit()
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit("%d check(s) failed" % len(failures))
    print("console: all checks passed; screenshots in " + a.artifacts)


if __name__ == "__main__":
    main()

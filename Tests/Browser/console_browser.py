#!/usr/bin/python3
"""Drives the review console in a real, headless Chromium and checks what a reviewer sees.

A Swift integration test runs this after it has started a real Postfix with held messages and
`misdirect-milter console` on loopback; this script does only the browser part:

    /usr/bin/python3 Tests/Browser/console_browser.py \
        --base-url http://127.0.0.1:PORT --user NAME --password-file FILE \
        --release QUEUEID --drop QUEUEID --link URL --screenshots DIR

It needs Debian's chromium, chromium-driver (/usr/bin/chromedriver) and python3-selenium, and
runs with the Debian python (/usr/bin/python3), which has selenium.

It checks, in order (the HTTP surface is in the console's spec, issue 14):
  1. signed out, GET /held lands on /login (a 303, also checked without the browser);
  2. a wrong password shows p#error and leaves the browser signed out;
  3. signing in through form#login lands on /held;
  4. table#held lists --release and --drop (tr.held-message[data-queue-id]), the --release row
     with a reason and a suspected domain;
  5. the --release message's page (a.details) shows its id in h1 and the X-Misdirection-Risk
     header in pre#headers; button#release answers "Released ID";
  6. /held no longer lists it; the --drop message's button#drop answers "Dropped ID";
  7. /decisions?domain=army.ml lists table#decisions, with a tr.decision for
     --expect-decision (an address) whose outcome is held, when given;
  8. /report draws svg#chart-levels (with rect.bar), svg#chart-rules and svg#chart-domains,
     and has no script element;
  9. the console's cookies are HttpOnly and SameSite=Strict (all of them, or the one named
     with --session-cookie);
 10. button#sign-out signs out: /held goes to /login again, and the old session cookie, sent
     again, no longer opens /held;
 11. --link, signed out, shows p#what and button#confirm; confirming shows p#result; the same
     link again shows p#refused (already used).

Each passed step prints `ok N NAME` on standard output. The first failure prints
`FAILED: N NAME: expected ..., saw ...` on standard error, saves failed.png and failed.html in
the screenshots directory, and exits 1. Screenshots (1280x900): login.png, held-list.png,
held-message.png, released.png, decisions.png, report.png, link-confirm.png.
"""

import argparse
import http.client
import os
import re
import shutil
import sys
import tempfile
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
WAIT_SECONDS = 20
WINDOW = (1280, 900)
# Postfix queue ids, as the console accepts them.
QUEUE_ID = re.compile(r"^[0-9A-Za-z]{5,20}$")


class Failed(Exception):
    """A step saw something other than what it expected."""


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True, help="the password on its first line")
    parser.add_argument("--release", required=True, metavar="QUEUEID")
    parser.add_argument("--drop", required=True, metavar="QUEUEID")
    parser.add_argument("--link", required=True, metavar="URL", help="a signed link for a third message")
    parser.add_argument("--screenshots", required=True, metavar="DIR")
    parser.add_argument("--session-cookie", metavar="NAME",
                        help="check only this cookie in step 9 (default: every cookie the console set)")
    parser.add_argument("--expect-decision", metavar="ADDRESS",
                        help="a recipient the decisions page must list as held")
    arguments = parser.parse_args()
    for option, value in (("--release", arguments.release), ("--drop", arguments.drop)):
        if not QUEUE_ID.match(value):
            parser.error(f"{option} {value!r} is not a Postfix queue id")
    if arguments.release == arguments.drop:
        parser.error("--release and --drop must be two different messages")
    arguments.base_url = arguments.base_url.rstrip("/")
    with open(arguments.password_file, encoding="utf-8") as file:
        arguments.password = file.readline().rstrip("\r\n")
    if not arguments.password:
        parser.error(f"{arguments.password_file} has no password on its first line")
    os.makedirs(arguments.screenshots, exist_ok=True)
    return arguments


class Console:
    """The browser, pointed at one console, with the waits and checks the steps share."""

    def __init__(self, arguments, profile):
        self.arguments = arguments
        self.base = arguments.base_url
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_window_size(*WINDOW)
        # Headless Chromium's window includes space for its (absent) toolbars: make the page
        # itself, and so every screenshot, 1280x900.
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False})
        self.wait = WebDriverWait(self.driver, WAIT_SECONDS)

    def quit(self):
        self.driver.quit()

    # Pages and elements

    def open(self, path_or_url):
        url = path_or_url if "://" in path_or_url else self.base + path_or_url
        self.driver.get(url)

    def path(self):
        return urllib.parse.urlsplit(self.driver.current_url).path

    def wait_for_path(self, path, what):
        try:
            self.wait.until(lambda driver: self.path() == path)
        except TimeoutException:
            raise Failed(f"expected {what} at {path}, saw {self.driver.current_url} "
                         f"(title {self.driver.title!r})") from None

    def element(self, css, what):
        """The element once it is in the page, or a failure naming what was missing."""
        try:
            return self.wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))
        except TimeoutException:
            raise Failed(f"expected {what} ({css}) on {self.path()}, saw none; "
                         f"page text: {self.page_text()!r}") from None

    def elements(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def page_text(self, limit=300):
        try:
            text = " ".join(self.driver.find_element(By.TAG_NAME, "body").text.split())
        except WebDriverException:
            text = ""
        return text[:limit]

    def submit(self, button_css, what):
        """Clicks a button and waits until the page it was on has gone."""
        button = self.element(button_css, what)
        button.click()
        try:
            self.wait.until(EC.staleness_of(button))
        except TimeoutException:
            raise Failed(f"expected {what} ({button_css}) to load a new page, "
                         f"saw {self.path()} unchanged") from None

    def screenshot(self, name):
        path = os.path.join(self.arguments.screenshots, name)
        if not self.driver.save_screenshot(path):
            raise Failed(f"expected to save {path}, saw the driver refuse")

    def save_failure(self):
        try:
            self.driver.save_screenshot(os.path.join(self.arguments.screenshots, "failed.png"))
            with open(os.path.join(self.arguments.screenshots, "failed.html"), "w", encoding="utf-8") as file:
                file.write(self.driver.page_source)
        except (WebDriverException, OSError):
            pass

    # The console's pages

    def sign_in(self, password):
        self.open("/login")
        self.element("form#login", "the sign-in form")
        self.element("form#login input[name=csrf]", "the sign-in form's csrf field")
        user = self.element("form#login input[name=user]", "the user field")
        user.clear()
        user.send_keys(self.arguments.user)
        field = self.element("form#login input[name=password]", "the password field")
        field.clear()
        field.send_keys(password)
        self.submit("form#login button#sign-in", "the sign-in button")

    def row(self, queue_id):
        rows = self.elements(f'table#held tr.held-message[data-queue-id="{queue_id}"]')
        return rows[0] if rows else None

    def listed_ids(self):
        return [row.get_attribute("data-queue-id") for row in self.elements("tr.held-message")]

    def open_message(self, queue_id):
        """Opens a held message from /held through its a.details link; checks its h1."""
        row = self.row(queue_id)
        if row is None:
            raise Failed(f"expected a row for {queue_id} in table#held, saw {self.listed_ids()}")
        links = row.find_elements(By.CSS_SELECTOR, "a.details")
        if not links:
            raise Failed(f"expected an a.details link in the row of {queue_id}, saw none")
        links[0].click()
        self.wait_for_path(f"/held/{queue_id}", f"the page of {queue_id}")
        heading = self.element("h1", "the message's heading").text
        if queue_id not in heading:
            raise Failed(f"expected {queue_id} in h1, saw {heading!r}")

    def press(self, queue_id, button, expected):
        """Presses button#release or button#drop; p#result must say `expected` and the id."""
        self.submit(f"button#{button}", f"button#{button}")
        result = self.element("p#result", "the result").text
        if expected not in result or queue_id not in result:
            raise Failed(f"expected p#result to say {expected} {queue_id}, saw {result!r}")


def unfollowed_get(base, path, cookie=None):
    """GET without following redirects: (status, Location)."""
    parts = urllib.parse.urlsplit(base)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.hostname, parts.port, timeout=WAIT_SECONDS)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    finally:
        connection.close()


def redirects_to_login(status, location):
    return status in (302, 303, 307) and urllib.parse.urlsplit(location).path == "/login"


def run(console, arguments):
    release, drop = arguments.release, arguments.drop
    saved = {}

    def signed_out_redirect():
        status, location = unfollowed_get(console.base, "/held")
        if status != 303 or urllib.parse.urlsplit(location).path != "/login":
            raise Failed(f"expected GET /held without a session to answer 303 to /login, "
                         f"saw {status} Location {location!r}")
        console.open("/held")
        console.wait_for_path("/login", "the sign-in page")
        console.element("form#login", "the sign-in form")
        console.screenshot("login.png")

    def wrong_password():
        console.sign_in(arguments.password + "-not-the-password")
        error = console.element("p#error", "an error")
        if not error.text.strip():
            raise Failed("expected p#error to say why, saw it empty")
        console.wait_for_path("/login", "the sign-in page again")
        console.open("/held")
        console.wait_for_path("/login", "a redirect to the sign-in page (still signed out)")

    def sign_in():
        console.sign_in(arguments.password)
        console.wait_for_path("/held", "the held list after signing in")
        console.element("button#sign-out", "the sign-out button")

    def held_list():
        console.element("table#held", "the held list")
        for queue_id in (release, drop):
            if console.row(queue_id) is None:
                raise Failed(f"expected a tr.held-message with data-queue-id={queue_id}, "
                             f"saw {console.listed_ids()}")
        row = console.row(release)
        for cell in ("reasons", "suspected"):
            found = row.find_elements(By.CSS_SELECTOR, f"td.{cell}")
            text = found[0].text.strip() if found else None
            if not text:
                raise Failed(f"expected a non-empty td.{cell} in the row of {release}, "
                             f"saw {'no such cell' if text is None else 'it empty'}")
        console.screenshot("held-list.png")

    def release_message():
        console.open_message(release)
        headers = console.element("pre#headers", "the headers").get_attribute("textContent")
        if "X-Misdirection-Risk" not in headers:
            raise Failed(f"expected X-Misdirection-Risk in pre#headers, saw {headers[:300]!r}")
        console.element("form#release-form input[name=csrf]", "the release form's csrf field")
        console.screenshot("held-message.png")
        console.press(release, "release", "Released")
        console.screenshot("released.png")

    def drop_message():
        console.open("/held")
        console.wait_for_path("/held", "the held list")
        console.element("button#sign-out", "the sign-out button")
        if console.row(release) is not None:
            raise Failed(f"expected {release} gone from /held after its release, saw it listed")
        console.open_message(drop)
        console.element("form#drop-form input[name=csrf]", "the drop form's csrf field")
        console.press(drop, "drop", "Dropped")

    def decisions():
        console.open("/decisions?domain=army.ml")
        console.wait_for_path("/decisions", "the decisions page")
        rows = console.elements("table#decisions tr.decision")
        texts = [row.text for row in rows]
        wanted = arguments.expect_decision
        if wanted and not any(wanted in text and "held" in text for text in texts):
            raise Failed(f"expected a tr.decision for {wanted} with outcome held, "
                         f"saw {[text[:80] for text in texts[:5]]}")
        console.screenshot("decisions.png")

    def report():
        console.open("/report")
        console.wait_for_path("/report", "the report page")
        for chart in ("chart-levels", "chart-rules", "chart-domains"):
            console.element(f"svg#{chart}", f"the {chart} chart")
        bars = console.elements("svg#chart-levels rect.bar")
        if not bars:
            raise Failed("expected bars (rect.bar) in svg#chart-levels, saw none")
        if console.elements("script"):
            raise Failed("expected no script element on the report page, saw one")
        console.screenshot("report.png")

    def cookies():
        host = urllib.parse.urlsplit(console.base).hostname
        found = [cookie for cookie in console.driver.get_cookies()
                 if cookie.get("domain", "").lstrip(".") == host]
        if arguments.session_cookie:
            found = [cookie for cookie in found if cookie["name"] == arguments.session_cookie]
        if not found:
            raise Failed(f"expected {arguments.session_cookie or 'a session cookie'} for {host}, "
                         f"saw {console.driver.get_cookies()}")
        for cookie in found:
            if cookie.get("httpOnly") is not True or cookie.get("sameSite") != "Strict":
                raise Failed(f"expected cookie {cookie['name']} HttpOnly and SameSite=Strict, "
                             f"saw httpOnly={cookie.get('httpOnly')} sameSite={cookie.get('sameSite')}")
        saved["cookie"] = "; ".join(f"{cookie['name']}={cookie['value']}" for cookie in found)

    def sign_out():
        console.open("/held")
        console.submit("button#sign-out", "the sign-out button")
        console.open("/held")
        console.wait_for_path("/login", "a redirect to the sign-in page after signing out")
        status, location = unfollowed_get(console.base, "/held", saved["cookie"])
        if not redirects_to_login(status, location):
            raise Failed(f"expected the old session cookie to be refused after sign-out "
                         f"(a redirect to /login), saw {status} Location {location!r}")

    def link():
        console.open(arguments.link)
        what = console.element("p#what", "what the link does")
        if not what.text.strip():
            raise Failed("expected p#what to say what the link does, saw it empty")
        console.element("button#confirm", "the confirm button")
        console.screenshot("link-confirm.png")
        console.submit("button#confirm", "the confirm button")
        result = console.element("p#result", "the link's result")
        if console.elements("p#refused"):
            raise Failed(f"expected the first use of the link to be carried out, "
                         f"saw p#refused {console.elements('p#refused')[0].text!r}")
        if not result.text.strip():
            raise Failed("expected p#result to say what was done, saw it empty")
        console.open(arguments.link)
        refused = console.element("p#refused", "the refusal of a used link")
        if "used" not in refused.text.lower():
            raise Failed(f"expected p#refused to say the link was already used, saw {refused.text!r}")
        if console.elements("button#confirm"):
            raise Failed("expected no button#confirm for a used link, saw one")

    steps = [
        ("signed-out-redirect", signed_out_redirect),
        ("wrong-password", wrong_password),
        ("sign-in", sign_in),
        ("held-list", held_list),
        ("release", release_message),
        ("drop", drop_message),
        ("decisions", decisions),
        ("report", report),
        ("cookies", cookies),
        ("sign-out", sign_out),
        ("link", link),
    ]
    for number, (name, step) in enumerate(steps, start=1):
        label = f"{number} {name}"
        try:
            step()
        except Failed as failure:
            return fail(console, label, str(failure))
        except (WebDriverException, OSError, http.client.HTTPException) as error:
            message = getattr(error, "msg", None) or str(error)
            return fail(console, label, f"expected the step to run, saw {type(error).__name__}: "
                                        f"{message.strip().splitlines()[0] if message.strip() else ''}")
        print(f"ok {label}", flush=True)
    return 0


def fail(console, label, message):
    console.save_failure()
    print(f"FAILED: {label}: {message}", file=sys.stderr, flush=True)
    return 1


def main():
    arguments = parse_arguments()
    profile = tempfile.mkdtemp(prefix="console-browser-")
    console = None
    try:
        try:
            console = Console(arguments, profile)
        except WebDriverException as error:
            print(f"FAILED: 0 start-browser: expected {CHROMEDRIVER} to start {CHROMIUM}, "
                  f"saw {(error.msg or str(error)).strip().splitlines()[0]}", file=sys.stderr)
            return 1
        return run(console, arguments)
    finally:
        if console is not None:
            console.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

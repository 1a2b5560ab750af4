#!/usr/bin/python3
"""The admin console (examples/openresty) in headless Chromium.

Starts tools/console.sh (the real Debian nginx + Lua module under the
LuaJIT build, against the signature-checking fake ACM PCA seeded with the
demo fleet), drives Debian's chromium through chromium-driver with
python3-selenium, and saves a screenshot per test under build/browser/.

Run with /usr/bin/python3 (spec/browser/run.sh does):
  /usr/bin/python3 spec/browser/test_console.py [--counts FILE] [-k NAME]
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHOTS = os.path.join(ROOT, "build", "browser")
WAIT = 20                       # seconds any one thing may take to appear

ACCOUNT_ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
ROOT_CA = ACCOUNT_ARN + "de000000-0000-4000-8000-000000000001"      # ABSENT
PROD = ACCOUNT_ARN + "de000000-0000-4000-8000-000000000002"         # COMPLETE
STAGING = ACCOUNT_ARN + "de000000-0000-4000-8000-000000000003"      # PARTIAL
DEV = ACCOUNT_ARN + "de000000-0000-4000-8000-000000000004"          # ABSENT, expiring
LEGACY = ACCOUNT_ARN + "de000000-0000-4000-8000-000000000005"       # DISABLED
MARKUP = ACCOUNT_ARN + "de000000-0000-4000-8000-0000000000a1"       # <script> name
MARKUP_NAME = "<script>document.title='pwned'</script><b>markup.example.com</b>"
MARKUP_PRINCIPAL = "<img src=x onerror=alert(1)>.example.com"
LABEL = "Authorize ACM to use this CA for renewals"

CONSOLE = {}                    # url, token, control, ... from tools/console.sh


def control(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(CONSOLE["control"] + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read().decode())


def permissions(arn):
    return control("GET", "/_fake/state")["permissions"].get(arn) or []


def start_console():
    """tools/console.sh in its own process group; returns the Popen."""
    ready = tempfile.mktemp(prefix="acmpca-browser-", suffix=".json")
    with open(os.path.join(SHOTS, "console.log"), "w") as log:
        proc = subprocess.Popen(["sh", os.path.join(ROOT, "tools", "console.sh"),
                                 "--ready", ready], cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 30
    while not os.path.exists(ready):
        if proc.poll() is not None or time.time() > deadline:
            stop_console(proc)
            raise RuntimeError("tools/console.sh did not start; see build/browser/console.log")
        time.sleep(0.1)
    with open(ready) as f:
        CONSOLE.update(json.load(f))
    os.unlink(ready)
    return proc


def stop_console(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)      # its trap stops nginx and the fake by PID
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def new_driver():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-sync"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(WAIT)
    return driver


class ConsoleTest(unittest.TestCase):
    driver = None
    proc = None

    @classmethod
    def setUpClass(cls):
        os.makedirs(SHOTS, exist_ok=True)
        cls.proc = start_console()
        try:
            cls.driver = new_driver()
        except Exception:
            stop_console(cls.proc)
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.driver:
            cls.driver.quit()
        if cls.proc:
            stop_console(cls.proc)

    def setUp(self):
        control("POST", "/_fake/reset", {})
        control("POST", "/_fake/faults/clear", {})
        self.d = self.driver
        self.d.get(CONSOLE["url"])
        self.d.delete_all_cookies()
        self.d.get(CONSOLE["url"])
        self.d.get_log("browser")          # start each test with an empty console log

    def tearDown(self):
        name = self.id().rsplit(".", 1)[-1]
        self.d.save_screenshot(os.path.join(SHOTS, name + ".png"))

    # ------------------------------------------------------------ helpers

    def wait(self, cond, timeout=WAIT):
        # the list is rendered afresh after each change: a row found just
        # before that is stale, and the condition is simply asked again
        return WebDriverWait(self.d, timeout,
                             ignored_exceptions=(StaleElementReferenceException,)
                             ).until(cond)

    def by_id(self, id_):
        return self.d.find_element(By.ID, id_)

    def visible(self, id_):
        return self.wait(EC.visibility_of_element_located((By.ID, id_)))

    def text_in(self, id_, text, timeout=WAIT):
        try:
            self.wait(EC.text_to_be_present_in_element((By.ID, id_), text), timeout)
        except TimeoutException:
            self.fail("%r never appeared in #%s (it says %r)"
                      % (text, id_, self.by_id(id_).text))

    def sign_in(self, token=None):
        box = self.visible("token")
        box.clear()
        box.send_keys(token or CONSOLE["token"])
        self.by_id("sign-in").click()

    def signed_in(self):
        self.sign_in()
        self.visible("list-view")
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#ca-rows tr")) >= 9)

    def row(self, arn):
        return self.d.find_element(By.CSS_SELECTOR, '#ca-rows tr[data-arn="%s"]' % arn)

    def renewal_of(self, arn):
        # textContent: the list may be hidden behind a CA's page
        return self.row(arn).find_element(By.CSS_SELECTOR,
                                          "td.renewal .badge").get_attribute("textContent")

    def open_ca(self, arn):
        self.row(arn).find_element(By.CSS_SELECTOR, "button.ca-link").click()
        self.visible("ca-view")
        self.wait(lambda d: d.find_element(By.ID, "ca-details").text != "")
        self.by_id("tab-permission").click()
        self.visible("panel-permission")

    def box(self):
        return self.by_id("acm-renewal")

    def csp_violations(self):
        return [e for e in self.d.get_log("browser")
                if "Content Security Policy" in e.get("message", "")]

    # ------------------------------------------------------------ tests

    def test_01_sign_in_and_list(self):
        self.signed_in()
        summary = self.by_id("summary").text
        self.assertIn("9 CAs (", summary)
        self.assertIn("ACM cannot renew from", summary)
        self.assertEqual("ABSENT", self.renewal_of(DEV))
        self.assertEqual("COMPLETE", self.renewal_of(PROD))
        self.assertEqual("PARTIAL", self.renewal_of(STAGING))
        expiry = self.row(DEV).find_elements(By.CSS_SELECTOR, "td")[5].text
        self.assertRegex(expiry, r"^\d{4}-\d\d-\d\d \(in \d+ days\)$")
        # filter, then sort by status and by renewal
        self.by_id("filter").send_keys("staging")
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#ca-rows tr")) == 1)
        self.by_id("filter").send_keys(Keys.CONTROL, "a")
        self.by_id("filter").send_keys(Keys.BACKSPACE)
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#ca-rows tr")) >= 9)
        self.by_id("sort-renewal").click()
        first = self.d.find_element(By.CSS_SELECTOR, "#ca-rows tr td.renewal .badge").text
        self.assertEqual("ABSENT", first)
        self.assertEqual("ascending", self.by_id("th-renewal").get_attribute("aria-sort"))
        self.by_id("sort-status").click()
        statuses = [e.text for e in self.d.find_elements(
            By.CSS_SELECTOR, "#ca-rows tr td:nth-child(4) .badge")]
        self.assertEqual("ACTIVE", statuses[0])
        self.assertEqual("DELETED", statuses[-1])
        self.assertEqual([], self.csp_violations())

    def test_02_wrong_token_refused(self):
        self.sign_in("not-the-token-at-all-0000")
        self.text_in("sign-in-error", "refused (401)")
        self.assertFalse(self.by_id("list-view").is_displayed())
        self.assertEqual([], self.d.get_cookies())

    def test_03_grant_reload_revoke(self):
        self.signed_in()
        self.open_ca(DEV)
        self.assertEqual(LABEL, self.d.find_element(By.CSS_SELECTOR,
                                                    'label[for="acm-renewal"]').text)
        self.assertFalse(self.box().is_selected())
        self.box().click()
        self.by_id("save").click()
        self.text_in("save-result", "created")
        self.assertEqual(1, len(permissions(DEV)))
        # the list reflects it without a reload
        self.wait(lambda d: self.renewal_of(DEV) == "COMPLETE")
        self.d.refresh()
        self.visible("panel-general")
        self.by_id("tab-permission").click()
        self.wait(lambda d: self.box().is_selected())
        self.box().click()
        self.by_id("save").click()
        self.text_in("save-result", "revoked")
        self.assertEqual([], permissions(DEV))
        self.wait(lambda d: self.renewal_of(DEV) == "ABSENT")

    def test_04_disabled_ca(self):
        self.signed_in()
        self.open_ca(LEGACY)
        self.assertFalse(self.box().is_enabled())
        self.assertFalse(self.by_id("save").is_enabled())
        why = self.visible("perm-disabled").text
        self.assertIn("not ACTIVE (DISABLED)", why)
        self.assertIn("re-enable the CA", why)

    def test_05_partial_repaired(self):
        self.signed_in()
        self.open_ca(STAGING)
        self.assertIn("lacks ListPermissions", self.by_id("perm-state").text)
        rows = self.d.find_elements(By.CSS_SELECTOR, "#perm-rows tr")
        self.assertEqual(1, len(rows))
        self.assertIn("acm.amazonaws.com", rows[0].text)
        self.assertIn("IssueCertificate, GetCertificate", rows[0].text)
        self.box().click()
        self.by_id("save").click()
        self.text_in("save-result", "repaired")
        self.text_in("perm-state", "holds all three")
        self.wait(lambda d: self.renewal_of(STAGING) == "COMPLETE")

    def test_06_fix_all(self):
        self.signed_in()
        self.by_id("fix-all").click()
        self.visible("fix-all-results")
        self.text_in("fix-all-status", "Done")
        results = {r.find_element(By.CSS_SELECTOR, "td").text:
                   r.find_element(By.CSS_SELECTOR, "td.result").text
                   for r in self.d.find_elements(By.CSS_SELECTOR, "#fix-all-rows tr")}
        self.assertEqual("created", results["issuing-dev.example.com"])
        self.assertEqual("repaired", results["issuing-staging.example.com"])
        self.assertEqual("present", results["issuing-prod.example.com"])
        self.assertEqual("skipped", results["legacy.example.com"])
        prog = self.by_id("fix-all-progress")
        self.assertEqual(prog.get_attribute("max"), prog.get_attribute("value"))
        self.wait(lambda d: self.renewal_of(DEV) == "COMPLETE")

    def test_07_csrf_refused(self):
        self.signed_in()
        # the page's own session cookie, but no X-CSRF-Token
        status = self.d.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/acm-renewal', {method: 'POST', credentials: 'same-origin',
                                   headers: {'Content-Type': 'application/json'},
                                   body: JSON.stringify({ca_arn: arguments[0]})})
              .then(r => done(r.status), e => done(String(e)));
        """, DEV)
        self.assertEqual(403, status)
        self.assertEqual([], permissions(DEV))
        self.assertTrue(any(c["name"] == "acm_console" and c["httpOnly"]
                            and c["sameSite"] == "Strict" for c in self.d.get_cookies()))
        # the cookie is not readable from script
        self.assertNotIn("acm_console", self.d.execute_script("return document.cookie"))

    def test_08_markup_renders_as_text(self):
        self.signed_in()
        link = self.row(MARKUP).find_element(By.CSS_SELECTOR, "button.ca-link")
        self.assertEqual(MARKUP_NAME, link.text)
        self.open_ca(MARKUP)
        self.assertEqual(MARKUP_NAME, self.by_id("ca-title").text)
        self.assertIn(MARKUP_PRINCIPAL, self.by_id("perm-rows").text)
        self.assertEqual([], self.d.find_elements(By.CSS_SELECTOR, "main b, main img"))
        self.assertEqual(0, len(self.d.find_elements(By.CSS_SELECTOR, "main script")))
        self.assertNotEqual("pwned", self.d.title)

    def test_09_keyboard_only(self):
        d = self.d
        self.visible("token")
        self.assertEqual("token", d.switch_to.active_element.get_attribute("id"))
        d.switch_to.active_element.send_keys(CONSOLE["token"], Keys.ENTER)
        self.visible("list-view")
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#ca-rows tr")) >= 9)
        order = []
        d.find_element(By.ID, "filter").click()
        for _ in range(6):
            order.append(d.switch_to.active_element.get_attribute("id"))
            d.switch_to.active_element.send_keys(Keys.TAB)
        self.assertEqual(["filter", "refresh", "fix-all", "sort-status", "sort-renewal"],
                         order[:5])
        focused = d.switch_to.active_element
        self.assertIn("ca-link", focused.get_attribute("class"))
        # the focus is visible
        outline = d.execute_script(
            "return getComputedStyle(document.activeElement).outlineStyle")
        self.assertNotEqual("none", outline)
        # open the first CA with Enter, reach the Permission tab and the box
        # with Tab, tick it with Space, save with Enter
        self.row(DEV)  # present
        target = [b for b in d.find_elements(By.CSS_SELECTOR, "button.ca-link")
                  if b.get_attribute("data-arn") == DEV][0]
        while d.switch_to.active_element != target:
            d.switch_to.active_element.send_keys(Keys.TAB)
        d.switch_to.active_element.send_keys(Keys.ENTER)
        self.visible("ca-view")
        self.wait(lambda d: d.find_element(By.ID, "ca-details").text != "")
        seen = []
        for _ in range(10):
            d.switch_to.active_element.send_keys(Keys.TAB)
            seen.append(d.switch_to.active_element.get_attribute("id"))
            if seen[-1] == "tab-permission":
                break
        self.assertEqual("tab-permission", seen[-1], seen)
        d.switch_to.active_element.send_keys(Keys.ENTER)
        self.visible("panel-permission")
        d.switch_to.active_element.send_keys(Keys.TAB)
        self.assertEqual("acm-renewal", d.switch_to.active_element.get_attribute("id"))
        d.switch_to.active_element.send_keys(Keys.SPACE)
        self.assertTrue(self.box().is_selected())
        d.switch_to.active_element.send_keys(Keys.TAB)
        self.assertEqual("save", d.switch_to.active_element.get_attribute("id"))
        d.switch_to.active_element.send_keys(Keys.ENTER)
        self.text_in("save-result", "created")

    def test_10_service_errors_readable(self):
        self.signed_in()
        control("POST", "/_fake/fault", {"kind": "error", "count": 1, "status": 400,
                                         "body": "AccessDeniedException"})
        self.row(DEV).find_element(By.CSS_SELECTOR, "button.ca-link").click()
        self.text_in("ca-error", "AccessDeniedException")
        self.assertIn("refused access", self.by_id("ca-error").text)
        # a CA deleted meanwhile
        control("POST", "/_fake/ca", {"arn": ROOT_CA, "status": None})
        self.by_id("back").click()
        self.visible("list-view")
        self.row(ROOT_CA).find_element(By.CSS_SELECTOR, "button.ca-link").click()
        self.text_in("ca-error", "no longer exists")
        # throttled on every attempt
        self.by_id("back").click()
        control("POST", "/_fake/fault", {"kind": "throttle", "count": 1000})
        self.by_id("refresh").click()
        # the client retries with backoff first (about 22 s here)
        self.text_in("list-error", "throttling", timeout=60)

    def test_11_sign_out(self):
        self.signed_in()
        self.by_id("sign-out").click()
        self.visible("sign-in-view")
        self.d.refresh()
        self.visible("sign-in-view")
        self.assertFalse(self.by_id("list-view").is_displayed())

    def test_99_screenshot_for_readme(self):
        # examples/openresty/console.png is a copy of console-list.png
        self.signed_in()
        self.d.save_screenshot(os.path.join(SHOTS, "console-list.png"))
        self.open_ca(STAGING)
        self.d.save_screenshot(os.path.join(SHOTS, "console-permission.png"))
        self.by_id("back").click()
        self.visible("list-view")


def main():
    args = sys.argv[1:]
    counts = None
    if "--counts" in args:
        i = args.index("--counts")
        counts = args[i + 1]
        del args[i:i + 2]
    prog = unittest.main(module=__name__, argv=[sys.argv[0], "-v"] + args, exit=False)
    res = prog.result
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    passed = res.testsRun - failed - len(res.skipped)
    if counts:
        with open(counts, "w") as f:
            f.write("%d %d\n" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

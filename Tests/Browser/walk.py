"""Walks Soot's pages in headless Chromium as a signed-in user, at a desktop width (1280 px) and a phone width
(390 px, emulated as a phone), and checks on every page:
- nothing is wider than the screen (the document does not scroll sideways);
- axe-core finds no violation of WCAG 2.0, 2.1 or 2.2 at levels A and AA.
With SHOTS set to a folder, it also saves a full-page screenshot of each page at each width there.

Usage: walk.py BASE_URL EMAIL PASSWORD   (AXE_JS: the path of axe.min.js; CHROMEDRIVER, CHROMIUM: the binaries)
"""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, email, password = sys.argv[1:4]
shots = os.environ.get("SHOTS", "")
axe_source = open(os.environ["AXE_JS"], encoding="utf-8").read()
widths = [(1280, 900, False), (390, 844, True)]
failures = []
checked = 0

options = webdriver.ChromeOptions()
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                 "--force-prefers-reduced-motion", "--lang=en-US"]:
    options.add_argument(argument)
options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
driver.set_page_load_timeout(30)
driver.set_script_timeout(60)


def emulate(width, height, mobile):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def too_wide():
    """The elements that reach past the right edge of the viewport (at most five), or an empty list."""
    return driver.execute_script("""
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width) return [];
        const out = [];
        for (const element of document.querySelectorAll('body *')) {
          const box = element.getBoundingClientRect();
          if (box.width > 0 && box.right > width + 1) {
            let inScroller = false;
            for (let p = element.parentElement; p; p = p.parentElement) {
              const style = getComputedStyle(p);
              if (style.overflowX === 'auto' || style.overflowX === 'scroll' || style.overflowX === 'hidden') { inScroller = true; break; }
            }
            if (!inScroller) out.push(element.tagName.toLowerCase() + (element.className && element.className.baseVal === undefined ? '.' + element.className : '') + ' right=' + Math.round(box.right));
          }
          if (out.length >= 5) break;
        }
        return out.length ? out : ['document ' + document.documentElement.scrollWidth + ' px wide'];
    """)


def axe_violations():
    driver.execute_script(axe_source)
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
          .then(result => done(result.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '
                                + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
          .catch(error => done(['axe failed: ' + error]));
    """)


def check(name):
    """Checks the page now loaded at both widths."""
    global checked
    url = driver.current_url
    for width, height, mobile in widths:
        emulate(width, height, mobile)
        driver.get(url)
        problems = []
        if driver.title.startswith("4") or driver.title.startswith("5"):
            problems.append("error page: " + driver.title)
        if mobile:
            problems += ["wider than the screen: " + item for item in too_wide()]
        problems += ["axe: " + item for item in axe_violations()]
        checked += 1
        if shots:
            full = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 6000)")
            emulate(width, max(height, full), mobile)
            driver.save_screenshot(os.path.join(shots, f"{name}-{width}.png"))
            emulate(width, height, mobile)
        if problems:
            failures.append((name, width, problems))
            print(f"browser: {name} at {width} px: FAILED", flush=True)
            for problem in problems:
                print("    " + problem, flush=True)
        else:
            print(f"browser: {name} at {width} px: ok", flush=True)


def follow(selector, name, query=""):
    links = driver.find_elements(By.CSS_SELECTOR, selector)
    if not links:
        failures.append((name, 0, [f"no link matching {selector} on {driver.current_url}"]))
        print(f"browser: {name}: no link matching {selector}", flush=True)
        return False
    driver.get(links[0].get_attribute("href").split("?")[0] + query if query else links[0].get_attribute("href"))
    check(name)
    return True


try:
    emulate(1280, 900, False)
    driver.get(base + "/login")
    check("login")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    try:
        WebDriverWait(driver, 20).until(lambda d: "/login" not in d.current_url)
    except TimeoutException:
        pass
    if "/account" in driver.current_url:
        # A generated password is for the first sign-in only: choose one, as a new user would.
        check("account")
        driver.find_element(By.NAME, "current_password").send_keys(password)
        driver.find_element(By.NAME, "new_password").send_keys("a password of my own")
        driver.find_element(By.NAME, "new_password_again").send_keys("a password of my own")
        driver.find_element(By.CSS_SELECTOR, "form[action='/account/password'] button[type=submit]").click()
        try:
            WebDriverWait(driver, 20).until(lambda d: "/account" not in d.current_url)
        except TimeoutException:
            failures.append(("password", 0, ["still on the account page after choosing a password"]))
    if "/login" in driver.current_url or "/account" in driver.current_url:
        failures.append(("sign-in", 0, ["still on the login page after signing in"]))
        print("browser: sign-in FAILED: still on " + driver.current_url, flush=True)
        print("    " + driver.find_element(By.TAG_NAME, "main").text[:500], flush=True)
    else:
        check("home")
        home = driver.current_url
        # From the organizations list, over all time so that every chart has data (links keep the range).
        if follow("main ul a[href^='/o/']", "organization", "?range=all"):
            organization = driver.current_url.split("?")[0]
            if follow(f"main table a[href^='{organization[len(base):]}/']", "team"):
                team = driver.current_url.split("?")[0]
                if follow(f"main table a[href^='{team[len(base):]}/']", "project"):
                    if follow("main table a[href*='/experiments/']", "experiment"):
                        follow("main table a[href^='/run/']", "run")
            # The organization's audit trail (its owner signed in), from the link on its page.
            driver.get(organization)
            follow("main a[href$='/-/audit']", "audit")
        driver.get(base + "/account")
        check("account-activity")
        driver.get(base + "/methodology")
        check("methodology")
finally:
    driver.quit()

print(f"browser: {checked - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)

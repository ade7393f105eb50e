#!/usr/bin/env python3
"""Every role's journey through Tutela's pages in a real browser (headless Chromium).

Driven against a real `tutela serve` on loopback over the demo vault (scripts/browser-test starts
both). Every interaction is made with the keyboard alone — Tab until the control has the focus,
then type, Space or Enter — so a journey that passes here can be done without a mouse. Every page
visited is checked with axe-core (zero violations), for reflow at 320 CSS pixels and at the width
of 200% zoom (no sideways scrolling), and for what must never be in a title or a URL.

    python3 Tests/Browser/journeys.py http://127.0.0.1:PORT [--screens docs/screens]
"""

import base64
import datetime
import hashlib
import hmac
import os
import struct
import sys
import time

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BASE = sys.argv[1].rstrip("/")
SCREENS = sys.argv[sys.argv.index("--screens") + 1] if "--screens" in sys.argv else None
WIDE = (1280, 900)
PASS = "demo passphrase for {}"
# Words a learner's or family's page must never show: they would tell that safeguarding
# material exists.
SAFEGUARDING_WORDS = ["flag", "safeguarding", "concern", "disclos", "break-glass", "break the glass"]

checked_pages = []
shared = {}
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print(f"  FAIL: {message}", flush=True)


def totp(secret_b32, at=None, step=30, digits=6):
    """RFC 6238 with HMAC-SHA-1, as an authenticator app computes it."""
    key = base64.b32decode(secret_b32.replace(" ", "").upper() + "=" * (-len(secret_b32.replace(" ", "")) % 8))
    counter = int((at or time.time()) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 10 ** digits
    return str(code).zfill(digits)


class Browser:
    def __init__(self):
        options = webdriver.ChromeOptions()
        options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        # A journey that fails mid-form must not leave a "leave this page?" prompt in the way.
        options.unhandled_prompt_behavior = "accept"
        for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-extensions", "--no-first-run", "--lang=en-GB"]:
            options.add_argument(argument)
        service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_window_size(*WIDE)
        self.axe = Axe(self.driver)

    def quit(self):
        self.driver.quit()

    # Keyboard alone -------------------------------------------------------------------------

    def focused(self):
        return self.driver.switch_to.active_element

    def tab_to(self, element, limit=250):
        """Presses Tab until `element` has the focus; fails if it is not in the tab order."""
        body = self.driver.find_element(By.TAG_NAME, "body")
        if self.focused() == element:
            return
        self.driver.execute_script("document.activeElement && document.activeElement.blur()")
        for _ in range(limit):
            self.focused().send_keys(Keys.TAB) if self.focused() != body else body.send_keys(Keys.TAB)
            if self.focused() == element:
                return
        raise AssertionError(f"could not reach {element.get_attribute('outerHTML')[:120]} with Tab")

    def type_into(self, name, text, form=None):
        field = (form or self.driver).find_element(By.NAME, name)
        self.tab_to(field)
        self.focused().send_keys(Keys.CONTROL, "a")
        self.focused().send_keys(Keys.DELETE)
        if text:
            self.focused().send_keys(text)

    def choose(self, name, value):
        """Ticks a radio or checkbox with Space."""
        box = self.driver.find_element(By.CSS_SELECTOR, f'input[name="{name}"][value="{value}"]')
        if box.get_attribute("type") == "radio":
            # A radio group is one tab stop; the arrow keys move within it.
            group = self.driver.find_elements(By.CSS_SELECTOR, f'input[name="{name}"]')
            self.tab_to(next((b for b in group if b.is_selected()), group[0]))
            for _ in range(len(group)):
                if self.focused() == box:
                    break
                self.focused().send_keys(Keys.ARROW_DOWN)
            check(self.focused() == box, f"arrow keys reach {name}={value}")
            if not box.is_selected():
                self.focused().send_keys(Keys.SPACE)
        else:
            self.tab_to(box)
            if not box.is_selected():
                self.focused().send_keys(Keys.SPACE)

    def press(self, element):
        """Presses a link or button from the keyboard, then waits for the page it leads to: the
        key press returns before the browser navigates, and a check read straight after it could
        read the page being left (seen once in CI)."""
        self.tab_to(element)
        leaving = self.driver.find_element(By.TAG_NAME, "html")
        self.focused().send_keys(Keys.ENTER)
        try:
            WebDriverWait(self.driver, 10).until(EC.staleness_of(leaving))
            WebDriverWait(self.driver, 10).until(
                lambda d: d.execute_script("return document.readyState") == "complete")
        except TimeoutException:
            pass  # nothing to leave: the checks that follow say what is on the page

    def button(self, text):
        for b in self.driver.find_elements(By.TAG_NAME, "button"):
            if b.text.strip() == text and b.is_displayed():
                return b
        raise AssertionError(f"no button '{text}' on {self.driver.current_url}")

    def link(self, text):
        return self.driver.find_element(By.LINK_TEXT, text)

    def go(self, path):
        self.driver.get(BASE + path)

    # Every page -----------------------------------------------------------------------------

    def page(self, name, forbidden=(), family=False):
        """Checks the page now showing, and saves its screenshot when asked."""
        d = self.driver
        title = d.title
        url = d.current_url
        print(f"  page: {name} — {title}", flush=True)
        checked_pages.append(name)
        check(title.endswith("– Tutela"), f"{name}: title '{title}'")
        for secret in forbidden:
            check(secret not in title, f"{name}: '{secret}' in the title")
            check(secret not in url, f"{name}: '{secret}' in the URL")
        if family:
            text = d.find_element(By.TAG_NAME, "body").text.lower()
            for word in SAFEGUARDING_WORDS:
                check(word not in text, f"{name}: a learner's page says '{word}'")
        self.axe.inject()
        results = self.axe.run()
        for violation in results["violations"]:
            nodes = ", ".join(n["target"][0] if n["target"] else "?" for n in violation["nodes"][:3])
            check(False, f"{name}: axe {violation['id']} ({violation['impact']}): {violation['help']} — {nodes}")
        for width in (320, 640):
            d.set_window_size(width, 900)
            overflow = d.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            check(overflow <= 0, f"{name}: scrolls sideways by {overflow}px at {width}px wide")
        d.set_window_size(*WIDE)
        if SCREENS:
            os.makedirs(SCREENS, exist_ok=True)
            height = d.execute_script("return document.documentElement.scrollHeight")
            d.set_window_size(WIDE[0], min(max(height, 600), 4000))
            d.execute_script("window.scrollTo(0, 0)")
            d.save_screenshot(os.path.join(SCREENS, f"{name}.png"))
            d.set_window_size(*WIDE)

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "main").text

    def sign_in(self, who, code=None):
        self.go("/sign-in")
        self.type_into("principal", who)
        self.type_into("passphrase", PASS.format(who))
        if code:
            self.type_into("code", code)
        self.press(self.button("Sign in"))

    def sign_out(self):
        self.press(self.button("Sign out"))
        check("You have signed out" in self.text(), "signing out says so")


def record_id(b):
    """The record id a "Record sealed" page names."""
    words = b.text().replace(",", " ").replace(".", " ").split()
    ids = [w for w in words if w.startswith("R-")]
    return ids[0] if ids else "R-?"


# The journeys -------------------------------------------------------------------------------

def tutor(b):
    print("Tutor (price): sign in, tutees, a tutorial, records, open, flag, addendum, a note", flush=True)
    b.go("/sign-in")
    b.page("sign-in")
    b.type_into("principal", "price")
    b.type_into("passphrase", "not the passphrase")
    b.press(b.button("Sign in"))
    check("do not match an account" in b.text(), "a wrong passphrase is said plainly")
    b.page("sign-in-refused")
    b.sign_in("price")
    check("Hello, Mr Price" in b.text(), "the tutor's home page greets them")
    b.page("home-tutor")
    b.press(b.link("My tutees"))
    check("Sam Taylor" in b.text(), "Sam is among Mr Price's tutees")
    b.page("tutees")
    b.press(b.driver.find_element(By.CSS_SELECTOR, 'a[aria-label="Write a tutorial for Sam Taylor"]'))
    b.page("tutorial-form")
    # First with mistakes: no course, more absences than lessons, no confidential choice.
    b.type_into("course", "")
    b.type_into("lessons", "10")
    b.type_into("absences", "12")
    b.press(b.button("Seal the tutorial"))
    summary = b.driver.find_element(By.CSS_SELECTOR, ".error-summary")
    check("Enter the course or subject" in summary.text, "a missing course is named")
    check("cannot be more than the lessons" in summary.text, "too many absences are named")
    check("totally confidential" in summary.text, "a missing confidential choice is named")
    absences = b.driver.find_element(By.NAME, "absences")
    check("f-absences-error" in (absences.get_attribute("aria-describedby") or ""),
          "the absences error is tied to its box")
    check(absences.get_attribute("aria-invalid") == "true", "the absences box is marked invalid")
    check(b.focused() == summary, "the problems take the focus")
    b.page("tutorial-form-errors")
    secret = "Wants to talk about moving out of home"
    b.type_into("course", "Level 2 Diploma in Construction")
    b.type_into("absences", "1")
    b.choose("punctuality", "good")
    b.choose("onTarget", "yes")
    b.type_into("comments", secret)
    b.type_into("target-1", "Finish the brickwork unit")
    b.type_into("action-1", "Meet the careers adviser")
    b.choose("copiesTo", "learner")
    b.choose("confidential", "yes")
    b.press(b.button("Seal the tutorial"))
    check("Record sealed" in b.text(), "the tutorial is sealed")
    check("Confidential tutorial" in b.text(), "sealed as a confidential tutorial")
    confidential = record_id(b)
    b.page("tutorial-sealed", forbidden=[secret])
    # A second, ordinary one with a copy for the learner: the one Sam will read.
    b.go("/tutorials/new?learner=sam")
    b.type_into("comments", "Good progress on the portfolio")
    b.choose("copiesTo", "learner")
    b.choose("confidential", "no")
    b.press(b.button("Seal the tutorial"))
    check("Record sealed" in b.text(), "the ordinary tutorial is sealed")
    shared["ordinary"] = record_id(b)
    shared["flagged"] = confidential
    check(b.driver.current_url.split("?")[0].endswith("/records"), "sealing leads to the records")
    b.press(b.link("Records"))
    check("Confidential tutorial" in b.text(), "the new record is listed")
    b.page("records-tutor", forbidden=[secret])
    b.press(b.driver.find_element(By.CSS_SELECTOR, f'form[action="/records/{confidential}/open"] button'))
    check(secret in b.text(), "the opened record shows what was written")
    check("Finish the brickwork unit" in b.text(), "the targets are shown")
    b.page("record-print", forbidden=[secret])
    b.go("/records")
    b.press(b.driver.find_elements(By.LINK_TEXT, "Add an addendum")[0])
    b.page("addendum-form")
    b.type_into("text", "Sam asked that his mum is not told yet.")
    b.press(b.button("Seal the addendum"))
    check("Addendum sealed" in b.text(), "the addendum is sealed")
    b.go(f"/records/{confidential}/flag")
    b.page("flag-form")
    b.press(b.button("Flag this record"))
    check("Say why you are concerned" in b.text(), "a flag needs a reason")
    b.type_into("reason", "Said he was afraid to go home")
    b.press(b.button("Flag this record"))
    check("Concern flagged" in b.text(), "the record is flagged")
    b.page("flagged")
    b.go("/notes/new?learner=sam")
    b.page("note-form")
    b.type_into("summary", "Talked about revision timetable")
    b.choose("recordedOnILR", "yes")
    b.press(b.button("Seal the note"))
    check("Informal support" in b.text() or "Record sealed" in b.text(), "the note is sealed")
    b.press(b.link("Planning"))
    check("Reviews this term" in b.text(), "the planning page shows whose review is due")
    b.page("plans")
    b.go("/plans?learner=sam")
    b.press(b.button("Plan the tutorial"))
    check("Enter the day" in b.text(), "a plan without a day is refused, and the box named")
    b.page("plans-errors")
    day = (datetime.date.today() + datetime.timedelta(days=14)).isoformat()
    # A date box takes keys in the browser's own order (mm/dd/yyyy here): set it as a picker would.
    b.driver.execute_script(f"document.getElementsByName('day')[0].value = '{day}'")
    b.driver.execute_script("document.getElementsByName('time')[0].value = '10:30'")
    b.type_into("place", "Room 4")
    b.choose("tellFamily", "no")
    b.press(b.button("Plan the tutorial"))
    check("Tutorial planned" in b.text(), "the tutorial is planned and the learner told")
    check("Room 4" in b.text(), "the plan is listed with its place")
    b.page("plans-planned")
    b.go("/passphrase")
    b.page("passphrase")
    b.sign_out()
    b.page("signed-out")


def learner(b):
    print("Learner (sam): own records, never a flagged one", flush=True)
    b.sign_in("sam")
    check("Hello, Sam Taylor" in b.text(), "the learner's home page")
    b.page("home-learner", family=True)
    b.press(b.link("Records"))
    b.page("records-learner", family=True)
    rows = b.driver.find_elements(By.CSS_SELECTOR, "tbody tr")
    check(len(rows) >= 1, "the learner sees a record of their own")
    for row in rows:
        check("sam" in row.text.lower(), "every record listed is the learner's own")
    check(shared.get("flagged", "none") not in b.driver.page_source,
          "the flagged record is not listed for the learner, not even its id")
    ordinary = b.driver.find_elements(
        By.CSS_SELECTOR, f'form[action="/records/{shared.get("ordinary")}/open"] button')
    check(len(ordinary) == 1, "the learner's copy of the ordinary tutorial is listed")
    if ordinary:
        b.press(ordinary[0])
        check("Good progress on the portfolio" in b.text(), "the learner reads their copy")
        b.page("record-learner", family=True)
    b.sign_out()


def enrol_app(b, who):
    """First sign-in of someone the policy requires an app of: the page asks for one first."""
    b.sign_in(who)
    check(b.driver.current_url.endswith("/second-factor"), f"{who} is sent to set up an app")
    b.page(f"second-factor-{who}")
    b.go("/")
    check(b.driver.current_url.endswith("/second-factor"), f"{who} can do nothing else first")
    b.press(b.button("Set up an app"))
    key = b.driver.find_element(By.CSS_SELECTOR, ".key").text
    b.page(f"second-factor-key-{who}")
    b.type_into("code", totp(key))
    b.type_into("passphrase", PASS.format(who))
    b.press(b.button("Confirm"))
    codes = [li.text for li in b.driver.find_elements(By.CSS_SELECTOR, ".codes li")]
    check(len(codes) == 10, f"{who} is shown ten recovery codes")
    b.page(f"recovery-codes-{who}")
    b.sign_out()
    # The code just used is spent: wait for the next one.
    time.sleep(31 - time.time() % 30)
    b.sign_in(who, code=totp(key))
    check("Hello" in b.text(), f"{who} signs in with passphrase and code")
    return key


def officer(b):
    print("Safeguarding officer (khan): an app, the queue, opening a flagged record with a reason", flush=True)
    enrol_app(b, "khan")
    check("flagged record" in b.text(), "the officer's home counts the queue")
    b.page("home-officer")
    b.go("/records?flagged=true")
    b.page("queue")
    b.press(b.driver.find_elements(By.LINK_TEXT, "Open with a reason")[0])
    check("head of centre" in b.text(), "the page says who will be told")
    b.page("disclose-form")
    b.press(b.button("Open the record"))
    check("Give the reason" in b.text(), "opening a flagged record needs a reason")
    b.type_into("reason", "Following up the referral, CPOMS 5120")
    b.press(b.button("Open the record"))
    check("Progress review" in b.text() or "Addendum" in b.text(), "the flagged record opens")
    b.page("disclosed")
    # An unflagged record: only break-glass opens it, with the approvers' agreement.
    b.go("/records?learner=sam")
    b.page("records-officer")
    b.press(b.driver.find_element(
        By.CSS_SELECTOR, f'a[href="/records/{shared.get("ordinary")}/break-glass"]'))
    b.page("break-glass-form")
    b.type_into("reason", "Police asked about the tutorial, case 77")
    b.press(b.button("Send the request"))
    check("Request sent" in b.text(), "the break-glass request is sent")
    check("Waiting for approval" in b.text(), "the officer sees the request waiting")
    b.page("break-glass-officer")
    b.sign_out()


def head(b):
    print("Head of centre (lewis): an app, the inbox", flush=True)
    enrol_app(b, "lewis")
    check("opened a flagged record" in b.text(), "the head is told of the opening")
    check("break-glass request for you" in b.text(), "the head is asked to approve")
    b.page("home-head")
    b.press(b.link("Break-glass"))
    card = b.text()
    check("Mrs Khan" in card and "Police asked about the tutorial, case 77" in card,
          "the request says who asks and why")
    b.page("break-glass-head")
    b.press(b.button("Approve"))
    check("1 of the 2 approvals" in b.text(), "the approval is counted")
    b.press(b.link("Reviews"))
    b.page("reviews")
    b.choose([e.get_attribute("name") for e in b.driver.find_elements(By.CSS_SELECTOR, 'input[type=radio]')][0],
             "justified")
    note = b.driver.find_elements(By.CSS_SELECTOR, "textarea")[0].get_attribute("name")
    b.type_into(note, "Referral was live; opening was needed")
    b.press(b.button("Record the review"))
    check("Referral was live" in b.text(), "the review is recorded")
    b.page("reviewed")
    b.sign_out()


def record_keeper(b):
    print("Record keeper (hale): the dashboard, a hold and its release, certificates", flush=True)
    b.sign_in("hale")
    b.press(b.link("Retention"))
    check("Records by class and standing" in b.text(), "the dashboard counts by class and standing")
    b.page("retention")
    b.type_into("asOf", "")
    b.focused().send_keys("01012040")
    b.press(b.button("Check"))
    check("As of 2040-01-01" in b.text(), "the dashboard checks as of a chosen date")
    b.go(f"/records/{shared.get('ordinary')}/hold")
    b.page("hold-form")
    b.type_into("reason", "Subject access request 2026-14")
    b.press(b.button("Place the hold"))
    check(shared.get("ordinary", "?") in b.driver.find_element(By.XPATH, "//h2[text()='Held']/following-sibling::*[1]").text,
          "the held record is listed as held")
    b.press(b.driver.find_element(By.CSS_SELECTOR, f'a[href="/records/{shared.get("ordinary")}/release"]'))
    b.type_into("reason", "Request answered")
    b.press(b.button("Release the hold"))
    check("Retention" in b.driver.title, "back on the dashboard")
    b.press(b.link("Destruction certificates"))
    b.page("certificates")
    b.sign_out()


def administrator(b):
    print("Administrator (office): an app, enrolling someone, learners, the policy", flush=True)
    enrol_app(b, "office")
    b.press(b.link("People"))
    b.page("people")
    b.press(b.link("Enrol someone"))
    b.page("enrol-form")
    b.type_into("id", "patel")
    b.type_into("name", "Ms Patel")
    b.choose("roles", "tutor")
    b.press(b.button("Enrol"))
    check("is enrolled" in b.text(), "the enrolment code is shown")
    code = b.driver.find_element(By.XPATH, "//dt[text()='Enrolment code']/following-sibling::dd").text
    b.page("enrolment-code", forbidden=[code])
    b.press(b.link("Learners"))
    check("Sam Taylor" in b.text(), "the learners are listed")
    b.page("learners")
    b.press(b.driver.find_element(By.CSS_SELECTOR, 'a[href="/learners/sam/tutor"]'))
    b.page("change-tutor")
    b.press(b.link("Policy"))
    b.page("policy")
    b.type_into("record", shared.get("ordinary", ""))
    b.press(b.button("Explain"))
    check("Refused" in b.text() or "Allowed" in b.text(), "the policy explains its decision")
    b.page("explain")
    b.sign_out()
    print("New tutor (patel): sets up the account with the code", flush=True)
    b.go("/sign-in")
    b.press(b.link("Set up your account"))
    b.page("activate")
    b.type_into("principal", "patel")
    b.type_into("code", code)
    b.type_into("new", "patel's own long passphrase")
    b.type_into("again", "patel's own long passphrase")
    b.press(b.button("Set up my account"))
    check("Your account is set up" in b.text(), "the account is set up")
    b.type_into("passphrase", "patel's own long passphrase")
    b.press(b.button("Sign in"))
    check("Hello, Ms Patel" in b.text(), "the new tutor signs in")
    b.sign_out()


def main():
    b = Browser()
    try:
        for journey in (tutor, learner, officer, head, record_keeper, administrator):
            try:
                journey(b)
            except Exception as error:  # a journey that breaks is a failure, the rest still run
                failures.append(f"{journey.__name__}: {type(error).__name__}: {error}")
                print(f"  FAIL: {journey.__name__}: {error}", flush=True)
                b.driver.delete_all_cookies()
    finally:
        b.quit()
    print(f"{len(checked_pages)} pages checked (axe, reflow at 320 and 640 px), "
          f"{len(failures)} failures", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

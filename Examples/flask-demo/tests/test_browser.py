"""The Flask demo in a real browser: headless Chromium follows the real redirects through relyd and Glewlwyd,
logs alice in on Glewlwyd's own login page and lands on the claims page; forged and replayed callbacks are
refused. The claims page's screenshot is saved under .build/test-artifacts/ (``RELYD_TEST_ARTIFACTS``)."""

import json
import os
import re
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from relyd import Client
from relyd_fixtures import REPOSITORY, free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app import SESSION_COOKIE, create_app  # noqa: E402
from content_type_proxy import ContentTypeProxy  # noqa: E402

# Generous: two cores shared with other test runs; every wait is for a condition, never a fixed time.
WAIT_SECONDS = int(os.environ.get("RELYD_BROWSER_WAIT", "90"))
ARTIFACTS = Path(os.environ.get("RELYD_TEST_ARTIFACTS") or REPOSITORY / ".build" / "test-artifacts")


class DemoServer:
    """The demo app on a free port, in this process; remembers the callback URLs the browser brought."""

    def __init__(self, relyd: Client, glewlwyd) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        site = relyd.register_site(glewlwyd.issuer, f"{self.base_url}/callback",
                                   post_logout_redirect_uri=f"{self.base_url}/logged-out",
                                   client_name="relyd flask demo test")
        self.app = create_app(relyd, site.oxd_id)
        app = self.app
        self.callbacks = []

        def recording(environ, start_response):
            if environ.get("PATH_INFO") == "/callback":
                self.callbacks.append(f"{self.base_url}/callback?{environ.get('QUERY_STRING', '')}")
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", port, recording, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def demo(relyd_glewlwyd, glewlwyd):
    server = DemoServer(Client(relyd_glewlwyd.socket_path, timeout=60), glewlwyd)
    yield server
    server.stop()


@pytest.fixture
def proxy(glewlwyd):
    tls = glewlwyd.run_root / "glewlwyd" / "tls"
    configuration = (glewlwyd.run_root / "glewlwyd" / "glewlwyd.conf").read_text()
    web_app = re.search(r'^static_files_path="([^"]+)"', configuration, re.MULTILINE).group(1)
    origin = urllib.parse.urlsplit(glewlwyd.issuer)._replace(path="/", query="", fragment="").geturl()
    # What the web app's config.json should say for this instance (Debian's file is not readable here).
    web_app_config = {"GlewlwydUrl": origin, "ProfileUrl": "profile.html", "AdminUrl": "index.html",
                      "LoginUrl": "login.html"}
    server = ContentTypeProxy(str(tls / "server.crt"), str(tls / "server.key"), glewlwyd.ca_file, web_app,
                              {"/config.json": json.dumps(web_app_config).encode()})
    yield server
    server.close()


@pytest.fixture
def new_browser(proxy):
    """Starts headless Chromium sessions, each with its own profile (cookies), all through the proxy."""
    browsers = []

    def start() -> webdriver.Chrome:
        options = webdriver.ChromeOptions()
        # /usr/bin/chromium is Debian's wrapper script; chromedriver needs the binary itself.
        options.binary_location = os.environ.get("CHROMIUM_BINARY", "/usr/lib/chromium/chromium")
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1100,1100", "--lang=en",
                         "--disable-background-networking", "--no-first-run", f"--proxy-server=http://127.0.0.1:{proxy.port}",
                         # Loopback is bypassed by default; the OP is on loopback and must go through the proxy.
                         "--proxy-bypass-list=<-loopback>"):
            options.add_argument(argument)
        # The proxy presents the OP's test certificate, from a CA this browser does not know.
        options.accept_insecure_certs = True
        service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
        browser = webdriver.Chrome(service=service, options=options)
        browser.set_page_load_timeout(WAIT_SECONDS)
        browsers.append(browser)
        return browser

    yield start
    for browser in browsers:
        browser.quit()


def wait(browser, condition, message):
    """Waits for ``condition``; on failure keeps the page (screenshot and HTML) as an artifact to look at."""
    try:
        return WebDriverWait(browser, WAIT_SECONDS, poll_frequency=0.2,
                             ignored_exceptions=(WebDriverException,)).until(condition, message)
    except TimeoutException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "flask-demo-failure.png"))
        (ARTIFACTS / "flask-demo-failure.html").write_text(f"<!-- {browser.current_url} -->\n{browser.page_source}")
        raise


def sign_in_as_alice(browser, demo, glewlwyd) -> None:
    browser.get(demo.base_url + "/")
    browser.find_element(By.ID, "sign-in").click()
    username = wait(browser, lambda b: b.find_element(By.ID, "username"), "Glewlwyd's login page did not show")
    assert browser.current_url.startswith(glewlwyd.issuer.split("/api/")[0])
    username.send_keys(glewlwyd.user)
    browser.find_element(By.ID, "password").send_keys(glewlwyd.password)
    browser.find_element(By.ID, "loginbut").click()

    granted = []

    def arrived_after_consent(b):
        """Glewlwyd asks alice once per client to grant the scopes, then to continue to the app."""
        if b.current_url.startswith(demo.base_url):
            return True
        if not granted:
            scopes = b.find_elements(By.CSS_SELECTOR, "input[type=checkbox]")
            # The site asks for openid, profile and email (relyd's default); grant once all three are listed.
            if len(scopes) < 3:
                return False
            for grant in b.find_elements(By.XPATH, "//button[normalize-space()='Grant access']"):
                if grant.is_displayed() and grant.is_enabled():
                    for scope in scopes:
                        if scope.is_enabled() and not scope.is_selected():
                            scope.click()
                    grant.click()
                    granted.append(True)
            return False
        for proceed in b.find_elements(By.XPATH, "//button[@title='Continue to client application']"):
            if proceed.is_displayed() and proceed.is_enabled():
                proceed.click()
        return False

    wait(browser, arrived_after_consent, "the browser did not come back to the demo app")


def test_alice_signs_in_sees_her_claims_and_signs_out(demo, glewlwyd, new_browser):
    browser = new_browser()
    sign_in_as_alice(browser, demo, glewlwyd)
    wait(browser, lambda b: b.current_url == demo.base_url + "/claims", "not on the claims page")
    welcome = wait(browser, lambda b: b.find_element(By.ID, "welcome"), "no welcome heading")
    assert "Alice Example" in welcome.text
    userinfo = browser.find_element(By.ID, "userinfo").text
    assert "alice@example.com" in userinfo
    assert glewlwyd.issuer in browser.find_element(By.ID, "id-token").text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "flask-demo-claims.png"))

    cookie = browser.get_cookie(SESSION_COOKIE)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    # The app's cookie is an opaque session id; no token travels to the browser.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie["value"])

    # The callback URL again, in the same browser: its state was used.
    [callback] = demo.callbacks
    browser.get(callback)
    assert wait(browser, lambda b: b.find_element(By.ID, "refused"), "a replayed callback was not refused")

    # Sign out: the app forgets the session and sends the browser to the OP's end_session_endpoint.
    browser.get(demo.base_url + "/claims")
    wait(browser, lambda b: b.find_element(By.ID, "sign-out"), "no sign-out button").click()
    wait(browser, lambda b: not b.current_url.startswith(demo.base_url), "sign-out did not leave the app")
    assert browser.current_url.startswith(glewlwyd.issuer.split("/api/")[0])
    browser.get(demo.base_url + "/claims")
    wait(browser, lambda b: b.find_element(By.ID, "sign-in"), "still signed in after signing out")


def test_a_forged_or_replayed_state_is_refused_in_another_browser(demo, glewlwyd, new_browser):
    first = new_browser()
    sign_in_as_alice(first, demo, glewlwyd)
    [callback] = demo.callbacks

    second = new_browser()
    # A forged state, with no sign-in started in this browser.
    second.get(f"{demo.base_url}/callback?code=forged-code&state=forged-state")
    assert "not started in this browser" in wait(second, lambda b: b.find_element(By.ID, "refused"),
                                                 "a forged state was not refused").text
    # The first browser's real callback, replayed here after starting a sign-in of its own.
    second.get(demo.base_url + "/login")
    wait(second, lambda b: b.find_element(By.ID, "username"), "Glewlwyd's login page did not show")
    second.get(callback)
    wait(second, lambda b: b.find_element(By.ID, "refused"), "a replayed callback was not refused")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert second.save_screenshot(str(ARTIFACTS / "flask-demo-refused.png"))
    second.get(demo.base_url + "/claims")
    wait(second, lambda b: b.find_element(By.ID, "sign-in"), "the replay signed the second browser in")

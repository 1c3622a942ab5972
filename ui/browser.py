"""Drive the real app in a headless Debian chromium (selenium): for the end-to-end test and the screenshots.

Nothing here downloads anything: chromium and chromedriver are Debian's (`apt-get install chromium
chromium-driver`), passed to selenium by path, with selenium-manager told to stay offline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from rag.core.errors import MissingDependency, RagError

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions", "--disable-sync")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningApp:
    """`rag app --index DIR|URL --port N` in a subprocess, until the `with` block ends."""

    def __init__(self, index_dir: Path | str, port: int | None = None, log: Path | None = None,
                 args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.index_dir = index_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.args = args          # more `rag app` options, e.g. ("--host", "0.0.0.0", "--password-file", f)
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RunningApp:
        out = self.log.open("wb") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "app", "--index", str(self.index_dir), "--port", str(self.port),
             *self.args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=self.env)
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RagError(f"rag app exited with code {self.process.returncode} — see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        return
            except OSError:
                time.sleep(0.5)
        raise RagError(f"rag app did not answer on {self.url} within {timeout:.0f} s — see {self.log}")

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def chromium(width: int = 1440, height: int = 1000) -> Any:
    """A headless chromium WebDriver; MissingDependency when selenium or the Debian packages are absent."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        raise MissingDependency("chromium and its driver", apt="chromium chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise MissingDependency("selenium", pip="selenium") from exc
    os.environ["SE_OFFLINE"] = "true"          # selenium-manager must never try to download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def wait_for(driver: Any, xpath: str, timeout: float = 60.0) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.XPATH, xpath)))


def text_xpath(text: str, tag: str = "*") -> str:
    return f"//{tag}[contains(normalize-space(.), {xpath_literal(text)})]"


def xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ", \"'\", ".join(f"'{part}'" for part in text.split("'")) + ")"


def click_button(driver: Any, label: str, timeout: float = 60.0) -> None:
    click(driver, wait_for(driver, f"//button[contains(normalize-space(.), {xpath_literal(label)})]", timeout))


def click(driver: Any, element: Any) -> None:
    """Scroll to the element and click it (by script when an animation still covers it)."""
    from selenium.common.exceptions import ElementClickInterceptedException

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    try:
        element.click()
    except ElementClickInterceptedException:
        driver.execute_script("arguments[0].click();", element)


def go_to(driver: Any, page: str) -> None:
    """Pick a page in the sidebar ("Chat", "Library")."""
    wait_for(driver, f"//label[contains(normalize-space(.), {xpath_literal(page)})]").click()
    time.sleep(0.5)


def upload(driver: Any, paths: list[Path], timeout: float = 300.0) -> dict[str, str]:
    """Send files to the uploader's file input; wait for each file's status line; {name: line}."""
    go_to(driver, "Library")
    field = wait_for(driver, "//input[@type='file']")
    field.send_keys("\n".join(str(p.resolve()) for p in paths))
    lines = {}
    for path in paths:
        line = wait_for(driver, f"//p[contains(normalize-space(.), {xpath_literal(path.name + ' — ')})]", timeout)
        lines[path.name] = line.text
    return lines


def ask(driver: Any, question: str, timeout: float = 180.0) -> None:
    """Type `question` into the chat box and wait until its answer is rendered (or an error is shown)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    go_to(driver, "Chat")
    done = "//details[contains(., 'Prompt sent to the model')] | //div[@data-testid='stAlertContentError']"
    before = len(driver.find_elements(By.XPATH, done))
    box = wait_for(driver, "//textarea[@data-testid='stChatInputTextArea']")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    WebDriverWait(driver, timeout).until(lambda d: len(d.find_elements(By.XPATH, done)) > before)


def screenshot(driver: Any, path: Path, settle: float = 1.0) -> Path:
    time.sleep(settle)                         # let Streamlit finish its last re-render
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path

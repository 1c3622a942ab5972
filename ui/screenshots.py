"""Screenshots of every screen of the app, from a fresh index of the sample files.

    .venv/bin/python -m ui.screenshots                      # -> bench/out/screenshots/*.png
    .venv/bin/python -m ui.screenshots --out DIR --llm embedded

Starts `rag app` on a free port of 127.0.0.1, drives Debian's headless chromium (ui/browser.py):
uploads the samples (and one damaged file, to show a failure), asks, opens each kind of source,
follows up, remembers the conversation, shows the settings, restarts the app, and shows the message
for an LLM server that is down.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from rag.config import FILE_NAME, Settings, save_settings
from rag.llm.protocol import LLMSettings
from ui.browser import (
    RunningApp,
    ask,
    chromium,
    click,
    click_button,
    screenshot,
    text_xpath,
    upload,
    wait_for,
    xpath_literal,
)
from ui.upload import supported_suffixes

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_docs"
UPLOADS = ("paper.pdf", "slack_export.zip", "notion_export.zip", "talk.wav", "meeting.txt", "receipt.png")
QUESTIONS = (  # (question, file name of the screenshot of its source, or "")
    ("What corpus was Lumen trained on?", "03-source-pdf-page"),
    ("and how big was it?", ""),
    ("Which beta sites go first?", "05-source-slack-thread"),
    ("What is the on-call number during launch week?", "06-source-notion-page"),
    ("How many tapes does the archive hold?", "07-source-recording"),
)


def open_last_citation(driver: Any) -> None:
    """Click the newest [1] chip; the sticky viewer shows its source beside the answer."""
    shown = [b for b in driver.find_elements("xpath", "//button[starts-with(normalize-space(.), '[1]')]")
             if b.is_displayed()]
    click(driver, shown[-1])
    wait_for(driver, "//h4[starts-with(normalize-space(.), '[1]')]")
    time.sleep(1.5)
    last = driver.find_elements("xpath", "//div[@data-testid='stChatMessage']")[-1]
    driver.execute_script("arguments[0].scrollIntoView({block: 'end'});", last)


def chat_screens(driver: Any, out: Path) -> None:
    for i, (question, source_shot) in enumerate(QUESTIONS):
        ask(driver, question)
        last = driver.find_elements("xpath", "//div[@data-testid='stChatMessage']")[-1]
        driver.execute_script("arguments[0].scrollIntoView({block: 'end'});", last)
        if i == 0:
            screenshot(driver, out / "02-chat-with-citations.png")
        if i == 1:
            screenshot(driver, out / "04-follow-up-rewritten.png")
        if source_shot and driver.find_elements("xpath", "//button[starts-with(normalize-space(.), '[1]')]"):
            open_last_citation(driver)
            screenshot(driver, out / f"{source_shot}.png", settle=2.0)


def remember_screen(driver: Any, out: Path) -> None:
    click(driver, wait_for(driver, "//details//summary[contains(., 'This conversation')]"))
    time.sleep(0.5)
    click_button(driver, "Remember this")
    done = wait_for(driver, text_xpath("Remembered as", "p"), timeout=180)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", done)
    screenshot(driver, out / "08-remember-this.png")


def choose(driver: Any, select_label: str, option: str, then: str, tries: int = 3) -> None:
    """Pick `option` in the Streamlit selectbox labelled `select_label`; done when `then` (an XPath) appears."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.keys import Keys

    for attempt in range(1, tries + 1):
        time.sleep(attempt)                     # let the sidebar's expander finish opening
        box = wait_for(driver, f"//input[@role='combobox'][@aria-label={xpath_literal(select_label)}]")
        box.click()
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(option)
        try:
            click(driver, wait_for(driver, f"//*[@role='option'][contains(., {xpath_literal(option)})]", 10))
            wait_for(driver, then, 15)
            return
        except TimeoutException:
            box.send_keys(Keys.ESCAPE)
    raise RuntimeError(f"could not choose {option!r} in {select_label!r}")


def type_into(driver: Any, label: str, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    field = wait_for(driver, f"//input[@aria-label={xpath_literal(label)}]")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text, Keys.ENTER)
    time.sleep(1.0)


def settings_screens(driver: Any, out: Path) -> None:
    """Point the app at an OpenAI-compatible server that is not running: the settings, then the message."""
    click(driver, wait_for(driver, "//details//summary[contains(., 'Settings')]"))
    choose(driver, "Language model", "OpenAI-compatible", then="//input[@aria-label='Server URL']")
    type_into(driver, "Server URL", "http://127.0.0.1:9/v1")
    type_into(driver, "Model name", "qwen2.5-7b-instruct")
    screenshot(driver, out / "09-settings.png")
    click_button(driver, "New conversation")
    ask(driver, "How long did Lumen's training take?")
    screenshot(driver, out / "11-llm-server-down.png")


def take(out: Path, llm: str, keep: Path | None) -> list[Path]:
    work = Path(tempfile.mkdtemp(prefix="rag-shots-"))
    index = keep or work / "index"
    index.mkdir(parents=True, exist_ok=True)
    save_settings(index / FILE_NAME, Settings(llm=LLMSettings(backend=llm)))
    damaged = work / "damaged.pdf"
    damaged.write_bytes(b"%PDF-1.4\nnot really a PDF\n")
    files = [SAMPLES / n for n in UPLOADS if (SAMPLES / n).exists() and (SAMPLES / n).suffix in supported_suffixes()]
    out.mkdir(parents=True, exist_ok=True)
    try:
        with RunningApp(index, log=out / "app.log") as app:
            driver = chromium(1440, 1000)
            try:
                driver.get(app.url)
                upload(driver, [*files, damaged])
                screenshot(driver, out / "01-upload-and-library.png")
                chat_screens(driver, out)
                remember_screen(driver, out)
            finally:
                driver.quit()
        with RunningApp(index, log=out / "app-restarted.log") as app:
            driver = chromium(1440, 1000)
            try:
                driver.get(app.url)
                click_button(driver, "What corpus was Lumen trained on?")
                wait_for(driver, "//details[contains(., 'Prompt sent to the model')]")
                screenshot(driver, out / "10-after-restart.png")
                settings_screens(driver, out)
            finally:
                driver.quit()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sorted(out.glob("*.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "screenshots")
    parser.add_argument("--llm", default="none", help="LLM backend for the answers (default none: no model)")
    parser.add_argument("--keep-index", type=Path, default=None, help="build the index here and keep it")
    args = parser.parse_args()
    started = time.monotonic()
    for path in take(args.out, args.llm, args.keep_index):
        print(path)
    print(f"{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

"""End to end in a real browser: `rag app` in a subprocess on 127.0.0.1, Debian's headless chromium driven
by selenium: upload a PDF through the file input, ask, find the citation, open the source viewer.
Screenshots go to the test's tmp dir."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest
from conftest import SAMPLES

from rag.config import FILE_NAME, Settings, save_settings
from rag.llm.protocol import LLMSettings

pytestmark = pytest.mark.slow

QUESTION = "What corpus was Lumen trained on?"


def test_upload_ask_and_open_a_citation(tmp_path: Path) -> None:
    from ui.browser import RunningApp, ask, chromium, click_button, screenshot, text_xpath, upload, wait_for

    index = tmp_path / "index"
    index.mkdir()
    save_settings(index / FILE_NAME, Settings(llm=LLMSettings(backend="none")))   # no model: deterministic
    log = tmp_path / "app.log"
    with RunningApp(index, log=log) as app, closing(chromium()) as driver:
        driver.get(app.url)
        wait_for(driver, text_xpath("Conversations"))
        status = upload(driver, [SAMPLES / "paper.pdf"])
        assert "paper.pdf — added" in status["paper.pdf"], status
        assert (index / "uploads" / "paper.pdf").read_bytes() == (SAMPLES / "paper.pdf").read_bytes()
        wait_for(driver, "//div[@data-testid='stDataFrame']")
        screenshot(driver, tmp_path / "library.png")
        ask(driver, QUESTION)
        wait_for(driver, "//button[contains(normalize-space(.), '[1] paper.pdf, p. 2 (printed 102)')]")
        assert "Harbor-7 corpus of 1.2 million field notes" in driver.page_source
        screenshot(driver, tmp_path / "chat.png")
        click_button(driver, "[1] paper.pdf, p. 2 (printed 102)")
        wait_for(driver, text_xpath("page 2 of 3: the quoted passage"))
        screenshot(driver, tmp_path / "source.png")
        assert "Traceback" not in driver.page_source
    assert "Uvicorn server started on 127.0.0.1:" in log.read_text(encoding="utf-8")
    assert all((tmp_path / f"{name}.png").stat().st_size > 10_000 for name in ("library", "chat", "source"))

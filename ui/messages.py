"""Errors as the app shows them: one readable line that names the problem and the fix, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from rag.core.errors import IndexFormatError, LLMError, RagError
from rag.llm.protocol import LLMSettings
from ui.sanitize import md_text

log = logging.getLogger("rag.app")

APP_FIX = "choose another backend under Settings in the sidebar"
DEFAULT_URLS = {"openai": "(no URL set)", "ollama": "http://127.0.0.1:11434", "embedded": "(embedded)"}


def server_url(llm: LLMSettings | None) -> str:
    if llm is None:
        return "the configured URL"
    return llm.base_url or DEFAULT_URLS.get(llm.backend, llm.backend)


def is_connection_error(exc: BaseException) -> bool:
    """A refused or dropped connection, however the client library wraps it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if isinstance(current, ConnectionError | TimeoutError) or name in (
                "ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError", "APIConnectionError",
                "APITimeoutError"):
            return True
        current = current.__cause__ or current.__context__
    return False


def root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


def message_for(exc: BaseException, llm: LLMSettings | None = None) -> str:
    """The text the app shows for `exc`."""
    if is_connection_error(exc) and (llm is None or llm.backend in ("openai", "ollama")):
        reason = root_cause(exc)
        return f"The LLM server at {server_url(llm)} did not answer ({reason}) — start it, or {APP_FIX}"
    if isinstance(exc, LLMError):
        return f"{exc} (in the app: {APP_FIX})"
    if isinstance(exc, IndexFormatError):
        return (f"{exc}. In the app, the embedder comes from the index's rag.toml (`embedder = …`): "
                "remove that line to use the one the index was built with.")
    if isinstance(exc, RagError):
        return str(exc)
    return (f"Something went wrong: {type(exc).__name__}: {exc} — the details are in the terminal running "
            "`rag app`; please report them")


@contextmanager
def shown_errors(llm: LLMSettings | None = None) -> Iterator[None]:
    """Show any error inside the block with st.error (the traceback goes to the log, not the page)."""
    import streamlit as st
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

    try:
        yield
    except ScriptControlException:  # st.rerun() and st.stop() pass through
        raise
    except Exception as exc:  # every error becomes a message; the details go to the log
        if not isinstance(exc, RagError):
            log.exception("unexpected error in the app")
        st.error(md_text(message_for(exc, llm)), icon=":material/error:")

"""What the app keeps between reruns: the open index and conversation store (shared by every browser
tab, one writer at a time), and per browser session the settings and the open conversation."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from rag.chat.conversations import ConversationStore
from rag.config import Settings, load_settings
from rag.core.errors import ConfigError
from rag.index import Index

INDEX_ENV = "RAG_INDEX"


@dataclass(frozen=True)
class AppContext:
    folder: Path
    index: Index
    store: ConversationStore
    lock: threading.Lock          # held while the index is written or asked (one request at a time)
    settings: Settings


def index_folder() -> Path:
    """The index folder: `rag app --index DIR` passes it in $RAG_INDEX."""
    value = os.environ.get(INDEX_ENV, "").strip()
    if not value:
        raise ConfigError(f"no index folder given — start the app with `rag app --index DIR` (or set ${INDEX_ENV})")
    return Path(value).expanduser().resolve()


@st.cache_resource(show_spinner=False)
def _open_index(folder: str, embedder: str | None) -> Index:
    return Index.open(folder, embedder=embedder)


@st.cache_resource(show_spinner=False)
def _open_store(folder: str) -> ConversationStore:
    return ConversationStore.open(folder)


@st.cache_resource(show_spinner=False)
def _lock(folder: str) -> threading.Lock:
    return threading.Lock()


def current_settings(folder: Path) -> Settings:
    if "settings" not in st.session_state:
        st.session_state["settings"] = load_settings(folder, {})
    settings: Settings = st.session_state["settings"]
    return settings


def context() -> AppContext:
    """Open (or reuse) everything the pages need; a RagError here means the app cannot work on this index."""
    folder = index_folder()
    settings = current_settings(folder)
    index = _open_index(str(folder), settings.embedder)
    return AppContext(folder, index, _open_store(str(folder)), _lock(str(folder)), settings)


def conversation() -> int | None:
    value = st.session_state.get("conversation")
    return int(value) if value is not None else None


def open_conversation(conversation_id: int | None) -> None:
    st.session_state["conversation"] = conversation_id
    st.session_state["viewing"] = None

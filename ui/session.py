"""What the app keeps between reruns: the open index and conversation store (shared by every browser
tab, one writer at a time), and per browser session the settings and the open conversation.

The index is a folder or a postgresql:// URL ($RAG_INDEX). Conversations, uploads and the app's settings
go in the index's local folder: the folder itself, or this machine's folder for a database
(rag/store/postgres/url.py `local_folder`; why there: rag/chat/conversations.py)."""

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
from rag.store.postgres.url import is_url, local_folder, shown

INDEX_ENV = "RAG_INDEX"


@dataclass(frozen=True)
class AppContext:
    folder: Path                  # the index's local folder (conversations, uploads, rag.toml)
    index: Index
    store: ConversationStore
    lock: threading.Lock          # held while the index is written or asked (one request at a time)
    settings: Settings
    shown: str = ""               # the index as the user may see it: a folder, or a URL without its password


def index_location() -> str:
    """The index: `rag app --index DIR|URL` passes it in $RAG_INDEX."""
    value = os.environ.get(INDEX_ENV, "").strip()
    if not value:
        raise ConfigError(f"no index given — start the app with `rag app --index DIR` (or postgresql://…, or set "
                          f"${INDEX_ENV})")
    return value


@st.cache_resource(show_spinner=False)
def _open_index(location: str, embedder: str | None, folder: str) -> Index:
    settings = load_settings(Path(folder), {})   # a database's rag.toml is in its local folder
    return Index.open(location, embedder=embedder, settings=settings)


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
    location = index_location()
    folder = local_folder(location)
    settings = current_settings(folder)
    index = _open_index(location if is_url(location) else str(folder), settings.embedder, str(folder))
    return AppContext(folder, index, _open_store(str(folder)), _lock(str(folder)), settings,
                      shown(location) if is_url(location) else str(folder))


def conversation() -> int | None:
    value = st.session_state.get("conversation")
    return int(value) if value is not None else None


def open_conversation(conversation_id: int | None) -> None:
    st.session_state["conversation"] = conversation_id
    st.session_state["viewing"] = None

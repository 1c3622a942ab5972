"""Settings in the sidebar: the LLM backend and top-k. A change applies at once and is saved to the
index's rag.toml, where `rag ask` and `rag chat` read it too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from rag.config import FILE_NAME, Settings, save_settings
from rag.llm.protocol import LLMSettings

BACKENDS = ["embedded", "openai", "ollama", "none"]
LABELS = {"embedded": "Embedded (SmolLM2, local)", "openai": "OpenAI-compatible server", "ollama": "Ollama",
          "none": "None (quote the passages)"}
URL_HINTS = {"openai": "http://127.0.0.1:8080/v1", "ollama": "http://127.0.0.1:11434"}


def chosen_llm(current: LLMSettings, backend: str, base_url: str, model: str) -> LLMSettings:
    """The LLM settings the widgets describe. The embedded backend keeps only a .gguf model path."""
    if backend == "embedded":
        gguf = current.model if current.model and current.model.endswith(".gguf") else None
        return replace(current, backend=backend, model=gguf)
    if backend == "none":
        return replace(current, backend=backend)
    return replace(current, backend=backend, base_url=base_url.strip() or None, model=model.strip() or None)


def render_settings(folder: Path, current: Settings) -> Settings:
    """The settings panel; returns the settings in force (saved when they changed)."""
    with st.sidebar.expander("Settings", expanded=False, icon=":material/settings:"):
        backend = st.selectbox("Language model", BACKENDS, index=BACKENDS.index(current.llm.backend)
                               if current.llm.backend in BACKENDS else 0, format_func=LABELS.__getitem__,
                               key="set-backend")
        base_url = model = ""
        if backend in ("openai", "ollama"):
            base_url = st.text_input("Server URL", value=current.llm.base_url or "", key=f"set-url-{backend}",
                                     placeholder=URL_HINTS[backend])
            model = st.text_input("Model name", value=current.llm.model or "", key=f"set-model-{backend}")
        top_k = int(st.number_input("Passages to retrieve (top-k)", min_value=1, max_value=50,
                                    value=current.top_k, step=1, key="set-top-k"))
        chosen = replace(current, llm=chosen_llm(current.llm, backend, base_url, model), top_k=top_k)
        if chosen != current:
            save_settings(folder / FILE_NAME, chosen)
            st.session_state["settings"] = chosen
            st.toast("Settings saved")
        st.caption(f"Saved in {folder / FILE_NAME}")
    return chosen


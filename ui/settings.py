"""Settings in the sidebar: the LLM backend and top-k. A change applies at once and is saved to the
index's rag.toml, where `rag ask` and `rag chat` read it too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from rag.config import FILE_NAME, Settings, save_settings
from rag.llm.protocol import LLMSettings
from ui.sanitize import md_text

BACKENDS = ["embedded", "openai", "ollama", "none"]
EMBEDDED_MODELS = ["qwen-0.5b", "qwen-1.5b", "smollm2"]  # rag/llm/bundled.py's catalogue; the first is the default
LABELS = {"embedded": "Embedded (bundled Qwen2.5-Coder, local)", "openai": "OpenAI-compatible server",
          "ollama": "Ollama",
          "none": "None (quote the passages)"}
URL_HINTS = {"openai": "http://127.0.0.1:8080/v1", "ollama": "http://127.0.0.1:11434"}


def chosen_llm(current: LLMSettings, backend: str, base_url: str, model: str) -> LLMSettings:
    """The LLM settings the widgets describe. The embedded backend keeps a bundled model's name (`model`,
    None for the default) or a .gguf path set in rag.toml."""
    if backend == "embedded":
        if model in EMBEDDED_MODELS:
            return replace(current, backend=backend, model=None if model == EMBEDDED_MODELS[0] else model)
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
        elif backend == "embedded" and not (current.llm.model or "").endswith(".gguf"):
            now = current.llm.model if current.llm.model in EMBEDDED_MODELS else EMBEDDED_MODELS[0]
            model = st.selectbox("Bundled model", EMBEDDED_MODELS, index=EMBEDDED_MODELS.index(now),
                                 key="set-embedded-model", help="qwen-0.5b answers fastest; qwen-1.5b is slower")
        top_k = int(st.number_input("Passages to retrieve (top-k)", min_value=1, max_value=50,
                                    value=current.top_k, step=1, key="set-top-k"))
        chosen = replace(current, llm=chosen_llm(current.llm, backend, base_url, model), top_k=top_k)
        if chosen != current:
            save_settings(folder / FILE_NAME, chosen)
            st.session_state["settings"] = chosen
            st.toast("Settings saved")
        st.caption(md_text(f"Saved in {folder / FILE_NAME}"))
    return chosen


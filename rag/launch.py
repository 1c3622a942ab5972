"""How `rag app` starts Streamlit: local only, no usage statistics, the index passed in $RAG_INDEX.

The command replaces the `rag` process (exec), so SIGTERM and SIGINT reach Streamlit itself."""

from __future__ import annotations

import os
import sys
from pathlib import Path

MAX_UPLOAD_MB = 200
"""The largest file the app accepts (checked again on the server side, in ui/upload.py)."""


def app_script() -> Path:
    """ui/app.py, found without importing the ui package (rag never imports ui: ui imports rag)."""
    import importlib.util

    spec = importlib.util.find_spec("ui")
    if spec is None or not spec.submodule_search_locations:
        from rag.core.errors import MissingDependency

        raise MissingDependency("the app's ui package (reinstall rag-memory: make install)", pip="-e .")
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


def streamlit_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The command line that serves ui/app.py on host:port without contacting any outside host."""
    import importlib.util

    if importlib.util.find_spec("streamlit") is None:
        from rag.core.errors import MissingDependency

        raise MissingDependency("streamlit (for `rag app`)", pip="streamlit")
    return [sys.executable, "-m", "streamlit", "run", str(app_script()),
            "--server.address", host, "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--server.maxUploadSize", str(MAX_UPLOAD_MB), "--global.showWarningOnDirectExecution", "false",
            "--client.toolbarMode", "minimal", "--theme.base", "light"]


def app_environment(index_dir: str | Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RAG_INDEX"] = str(Path(index_dir).expanduser().resolve())
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("OMP_WAIT_POLICY", "passive")
    return env


def url(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}"

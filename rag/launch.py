"""How `rag app` starts Streamlit: local only, no usage statistics, the index (folder or database URL)
passed in $RAG_INDEX.

The command replaces the `rag` process (exec), so SIGTERM and SIGINT reach Streamlit itself.
Served beyond this machine (`--host 0.0.0.0`), the app shows every document and accepts uploads, so it
needs a password (`--password-file FILE` or $RAG_APP_PASSWORD), which the app asks for first."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rag.uploads.files import MAX_UPLOAD_MB  # the largest upload; checked again on the server side there

PASSWORD_ENV = "RAG_APP_PASSWORD"
"""The app's password, passed to the Streamlit process (ui/auth.py asks for it when it is set)."""


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


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def app_password(host: str, password_file: str | Path | None, environ: dict[str, str] | None = None) -> str | None:
    """The password the app will ask for: from `password_file`, else $RAG_APP_PASSWORD; None on a loopback
    address without either. A non-loopback address without a password is refused."""
    from rag.core.errors import ConfigError

    env = os.environ if environ is None else environ
    password = env.get(PASSWORD_ENV) or None
    if password_file is not None:
        from rag.core.secret import read_secret

        password = read_secret(password_file, "the app's password",
                               "the password file is empty — write the password into it")
    if password is None and not is_loopback(host):
        raise ConfigError(f"--host {host} serves every document, the uploads and the library to the network, "
                          f"so it needs a password: pass --password-file FILE or set ${PASSWORD_ENV} "
                          "(or keep the default --host 127.0.0.1)")
    return password


def app_environment(index_dir: str | Path, password: str | None = None) -> dict[str, str]:
    """The Streamlit process's environment: the index in $RAG_INDEX (a folder made absolute, a database URL
    as given: the app needs its password to connect, and never shows it)."""
    from rag.store.postgres.url import is_url

    env = dict(os.environ)
    env["RAG_INDEX"] = str(index_dir).strip() if is_url(index_dir) else str(Path(index_dir).expanduser().resolve())
    if password:
        env[PASSWORD_ENV] = password
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("OMP_WAIT_POLICY", "passive")
    return env


def url(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}"

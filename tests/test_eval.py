"""`rag eval`: metrics against hand-computed values, small BEIR and QA sets built here, the CLI's --json shape,
the .jsonl loader that carries a BEIR corpus through the normal ingest path, and SciFact with the real model."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA

from ingest.chunking import embedding_text
from ingest.loaders.jsonl import load_jsonl
from rag import Index
from rag.cli import main
from rag.core.errors import ConfigError, LoaderError
from rag.core.types import Chunk, Hit
from rag.eval.beir import load_beir, rank_records, read_qrels
from rag.eval.metrics import answer_correct, mrr_at, ndcg_at, recall_at
from rag.eval.qa import load_qa
from rag.eval.run import evaluate, table

DOCS = {
    "d1": ("Coral bleaching", "Coral reefs bleach when sea temperatures rise for several weeks."),
    "d2": ("Volcanic soils", "Volcanic ash makes soils rich in minerals that vineyards prize."),
    "d3": ("Glacier retreat", "Alpine glaciers have lost a third of their ice since 1980."),
    "d4": ("Bee navigation", "Honey bees navigate by the polarised light of the sky."),
    "d5": ("Tidal power", "Tidal turbines turn the rise and fall of the sea into electricity."),
}
QUERIES = {"q1": "why do coral reefs bleach", "q2": "how do honey bees navigate",
           "q3": "glaciers losing ice since 1980", "q4": "volcanic ash soils vineyards"}
QRELS = {"q1": {"d1": 1}, "q2": {"d4": 2}, "q3": {"d3": 1}, "q4": {"d2": 1, "d5": 0}}


def test_ndcg_recall_mrr_match_hand_computed_values() -> None:
    qrels = {"a": 2, "b": 1, "c": 0}
    ranked = ["x", "b", "a", "y"]
    dcg = 1 / math.log2(3) + 2 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(ranked, qrels, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at(["a", "b"], qrels, 10) == pytest.approx(1.0)
    assert ndcg_at(ranked, qrels, 1) == 0.0
    assert recall_at(ranked, qrels, 2) == 0.5 and recall_at(ranked, qrels, 100) == 1.0
    assert mrr_at(ranked, qrels, 10) == 0.5 and mrr_at(ranked, qrels, 1) == 0.0
    assert mrr_at(["c", "x"], qrels, 10) == 0.0  # grade 0 is not relevant


def test_answer_correct_wants_every_key_token_of_one_gold_answer() -> None:
    assert answer_correct("They came from Denmark, Iceland and Norway [1].", ["Denmark, Iceland and Norway"])
    assert not answer_correct("They came from Denmark [1].", ["Denmark, Iceland and Norway"])
    assert answer_correct("In the 10th and 11th centuries.", ["in the 10th and 11th centuries", "10th century"])
    assert answer_correct("It was founded in 911.", ["911"])
    assert not answer_correct("It was founded in 912.", ["911"])


def write_beir(folder: Path, qrels: dict[str, dict[str, int]] = QRELS) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, (t, x) in DOCS.items()), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": q, "text": t, "metadata": {}}) + "\n" for q, t in QUERIES.items()), encoding="utf-8")
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{g}" for q, r in qrels.items() for d, g in r.items()]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_qrels_and_queries_load_and_a_missing_split_names_the_ones_there(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "set")
    assert read_qrels(folder / "qrels" / "test.tsv")["q4"] == {"d2": 1, "d5": 0}
    data = load_beir(folder, "test")
    assert set(data.queries) == {"q1", "q2", "q3", "q4"} and data.queries["q2"] == QUERIES["q2"]
    with pytest.raises(ConfigError, match="use --split with one of: test"):
        load_beir(folder, "dev")


def test_beir_eval_ingests_the_corpus_once_and_maps_hits_to_corpus_ids(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "set")
    idx = Index.open(tmp_path / "idx", embedder="hashing-256")
    run = evaluate(idx, folder, "test", progress=False)
    assert run.kind == "beir" and run.summary["queries"] == 4
    assert set(run.summary) == {"ndcg@10", "recall@100", "mrr@10", "queries"}
    assert run.summary["ndcg@10"] == pytest.approx(1.0) and run.summary["recall@100"] == 1.0
    rows = [json.loads(line) for line in run.out.read_text().splitlines()]
    assert {r["query_id"]: r["top10"][0] for r in rows} == {"q1": "d1", "q2": "d4", "q3": "d3", "q4": "d2"}
    assert json.loads(run.out.with_suffix(".json").read_text())["ndcg@10"] == run.summary["ndcg@10"]
    assert run.details["embedded_chunks"] == 5
    ms = sorted(r["ms"] for r in rows)     # each query's Index.search time, and their p50 / p95
    assert (run.details["ms_p50"], run.details["ms_p95"]) == (ms[1], ms[3]) and "ms_p95" in table(run)
    again = evaluate(idx, folder, "test", progress=False)
    assert again.details["embedded_chunks"] == 0 and again.summary == run.summary


def test_rank_records_keeps_the_best_passage_of_each_record() -> None:
    def hit(record: str) -> Hit:
        return Hit(Chunk(record, "d", "t", {"record": record}, 0, 1), 1.0, "corpus.jsonl")

    assert rank_records([hit("7"), hit("3"), hit("7"), hit("9")], depth=2) == ["7", "3"]


def test_cli_json_prints_exactly_the_four_figures(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "set")
    Index.open(tmp_path / "idx", embedder="hashing-256").close()  # the CLI opens it with its own embedder
    result = CliRunner().invoke(main, ["eval", str(folder), "--split", "test", "--index", str(tmp_path / "idx"),
                                       "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ["ndcg@10", "recall@100", "mrr@10", "queries"] and data["queries"] == 4
    assert all(isinstance(data[k], float) for k in ("ndcg@10", "recall@100", "mrr@10"))
    table = CliRunner().invoke(main, ["eval", str(folder), "--index", str(tmp_path / "idx")])
    assert table.exit_code == 0 and "ndcg@10" in table.output and "per query" in table.output


def test_cli_names_what_an_evaluation_set_is(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "notes.txt"), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 1 and "not an evaluation set" in result.output


def write_qa_docs(folder: Path) -> Path:
    folder.mkdir()
    for name, (title, text) in DOCS.items():
        (folder / f"{name}.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
    rows = [{"question": "What do honey bees navigate by?", "answer": ["polarised light", "the sky"],
             "source": "d4.md", "locator": {"heading": "Bee navigation"}},
            {"question": "How much ice have alpine glaciers lost since 1980?", "answer": "a third",
             "source": "d3.md"},
            {"question": "Who won the chess world championship in 1972?", "answer": "NOT_IN_DOCS"}]
    qa = folder.parent / "qa.jsonl"
    qa.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return qa


def test_qa_eval_counts_hits_answers_and_refusals(tmp_path: Path) -> None:
    qa = write_qa_docs(tmp_path / "docs")
    idx = Index.open(tmp_path / "idx", embedder="hashing-256")
    idx.ingest(tmp_path / "docs")
    items = load_qa(qa)
    assert [bool(i.answers) for i in items] == [True, True, False]
    from rag.llm.protocol import LLMSettings

    run = evaluate(idx, qa, llm=LLMSettings(backend="none"), k=3, progress=False)
    s = run.summary
    assert (s["questions"], s["answerable"], s["unanswerable"]) == (3, 2, 1)
    assert s["hit@3"] == 1.0
    rows = [json.loads(line) for line in run.out.read_text().splitlines()]
    assert rows[2]["gold"] == "NOT_IN_DOCS" and rows[2]["hit"] is None
    assert s["correct"] == sum(r["correct"] for r in rows[:2]) / 2
    assert s["correct_refusal"] == float(rows[2]["refused"])
    assert s["wrong_refusal"] == sum(r["refused"] for r in rows[:2]) / 2


def test_qa_file_errors_name_the_line_and_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "qa.jsonl"
    bad.write_text('{"question": "x", "answer": "y"}\n{"question": "z"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"qa.jsonl:2: .*answer"):
        load_qa(bad)


def test_jsonl_loader_makes_one_titled_section_a_record(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text('{"_id": "a1", "title": "First  note", "text": "Alpha text."}\n\nnot json\n'
                    '{"id": 7, "body": "Beta text."}\n{"title": "no text"}\n', encoding="utf-8")
    doc = load_jsonl(path, "notes.jsonl", "doc")
    assert [s.text for s in doc.sections] == ["Alpha text.", "Beta text."]
    assert doc.sections[0].locator == {"record": "a1", "line": 1, "title": "First note"}
    assert doc.sections[1].locator == {"record": "7", "line": 4}
    assert len(doc.meta["warnings"]) == 2 and "line 3" in doc.meta["warnings"][0]
    chunk = Chunk("c", "doc", "Alpha text.", doc.sections[0].locator, 0, 11)
    assert embedding_text(doc.title, chunk) == "First note\nAlpha text."  # the record's title, not the file's
    (tmp_path / "empty.jsonl").write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="empty.jsonl: no line is a JSON object with a text field"):
        load_jsonl(tmp_path / "empty.jsonl", "empty.jsonl", "doc")


@pytest.mark.slow
@pytest.mark.realdata
def test_scifact_sample_with_the_real_model(tmp_path: Path) -> None:
    """Forty test claims over their judged abstracts plus 400 others, through the shipped path."""
    source = SHARED_DATA / "scifact"
    if not source.is_dir():
        pytest.skip(f"{source} is absent (it sits beside the checkout in CI)")
    qrels = read_qrels(source / "qrels" / "test.tsv")
    chosen = dict(list(qrels.items())[:40])
    judged = {d for r in chosen.values() for d in r}
    corpus = [json.loads(line) for line in (source / "corpus.jsonl").read_text().splitlines()]
    others = random.Random(5).sample([c for c in corpus if c["_id"] not in judged], 400)
    folder = tmp_path / "scifact-sample"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(c) + "\n" for c in corpus if c["_id"] in judged)
                                         + "".join(json.dumps(c) + "\n" for c in others))
    (folder / "queries.jsonl").write_text((source / "queries.jsonl").read_text())
    (folder / "qrels" / "test.tsv").write_text("".join(f"{q}\t{d}\t{g}\n" for q, r in chosen.items()
                                                       for d, g in r.items()))
    run = evaluate(Index.open(tmp_path / "idx"), folder, "test", progress=False)
    assert run.summary["queries"] == 40
    assert run.summary["ndcg@10"] >= 0.8 and run.summary["recall@100"] >= 0.95, run.summary

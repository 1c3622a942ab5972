"""Answers with the real embedding model over sample_docs/: citations, locators, quotes, refusals."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, sample_sources

from ingest.chunking import embedding_text
from rag import Index
from rag.answer.prompts import NOT_FOUND
from rag.answer.settings import AnswerSettings
from rag.answer.support import check_support
from rag.answer.text import cited_numbers
from rag.core.types import Chunk, Hit
from rag.llm.protocol import LLMSettings

NONE = LLMSettings(backend="none")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    idx = Index.open(tmp_path_factory.mktemp("idx") / "index")
    summary = idx.ingest(SAMPLES)
    assert summary.added == len(sample_sources()) and not summary.failed
    return idx


def test_cited_numbers() -> None:
    assert cited_numbers("a [2] b [1, 3] c [4-5] d [2]") == [2, 1, 3, 4, 5]
    assert cited_numbers("no citations here") == []


@pytest.mark.slow
@pytest.mark.parametrize("question, source, locator", [
    ("What corpus was Lumen trained on?", "paper.pdf", {"page": 2, "page_label": "102"}),
    ("What recall at 10 does Lumen reach on Tidepool?", "paper.pdf", {"page": 3, "page_label": "103"}),
    ("How often are the hydrophones recalibrated?", "notes.md", None),
    ("How much was approved for the boat engine?", "meeting.txt", None),
    ("How much disk space does the small edition of Tidepool need?", "guide.html", None),
])
def test_search_finds_the_place(index: Index, question: str, source: str, locator: dict | None) -> None:
    hits = index.search(question, k=3)
    places = [(h.source, h.chunk.locator) for h in hits]
    assert any(s == source and (locator is None or loc == locator) for s, loc in places), places


@pytest.mark.slow
def test_extractive_answer_quotes_and_cites(index: Index) -> None:
    answer = index.ask("What corpus was Lumen trained on?", llm=NONE)
    assert answer.found and "Harbor-7" in answer.text
    first = answer.citations[0]
    assert (first.source, first.locator["page"]) == ("paper.pdf", 2)
    assert "Harbor-7" in first.quote
    section = index.store.section_text(answer.hits[first.number - 1].chunk.doc_id,
                                       answer.hits[first.number - 1].chunk.section)
    assert section[first.start:first.end] == first.quote, "citation offsets must point at the quote"
    assert f"[{first.number}]" in answer.prompt and "What corpus was Lumen trained on?" in answer.prompt


@pytest.mark.slow
@pytest.mark.parametrize("question", ["What is the capital of Australia?",
                                      "Which football club won the 1998 league?"])
def test_says_when_documents_do_not_contain_it(index: Index, question: str) -> None:
    answer = index.ask(question, llm=NONE)
    assert not answer.found and answer.text == NOT_FOUND and answer.citations == ()


@pytest.mark.slow
def test_chunk_offsets_are_exact(index: Index) -> None:
    for hit in index.search("Lumen training data corpus", k=10):
        section = index.store.section_text(hit.chunk.doc_id, hit.chunk.section)
        assert section[hit.chunk.start:hit.chunk.end] == hit.chunk.text


@pytest.mark.slow
def test_chunks_fit_the_model_window(index: Index) -> None:
    embedder = index.embedder
    rows = index.store.db.execute("SELECT c.text, d.title FROM chunks c JOIN documents d ON d.id = c.doc")
    for text, title in rows:
        shown = embedding_text(title, Chunk("", "", text, {}, 0, len(text)))
        assert len(embedder.token_spans(shown)) <= embedder.max_tokens


@pytest.mark.slow
def test_support_check_weighs_meaning_with_the_embedder(index: Index) -> None:
    text = "The hydrophones are recalibrated every 90 days by the field team. The boat engine cost 48,000 euros."
    sources = [Hit(Chunk("c", "d", text, {"page": 1}, 0, len(text)), 1.0, "a.pdf")]
    answer = "Hydrophones get checked and adjusted again each 90 days [1]. Whales sing louder in warm water [1]."
    lexical_only, dropped = check_support(answer, sources, AnswerSettings())
    assert lexical_only == "" and len(dropped) == 2   # "checked and adjusted again" shares too few words
    checked, dropped = check_support(answer, sources, AnswerSettings(), index.embedder)
    assert checked == "Hydrophones get checked and adjusted again each 90 days [1]."   # a paraphrase: same meaning
    assert dropped == ("Whales sing louder in warm water.",)


def test_support_check_matches_word_forms_ocr_noise_and_number_formats() -> None:
    text = "The hydrophones are recalibrated every 90 days.\nDISCOUNT 19,400\n(2 t CHPNGE 0S 25, 400"
    sources = [Hit(Chunk("c", "d", text, {}, 0, len(text)), 1.0, "receipt.png")]
    answer = ("Each hydrophone recalibration happens every 90 days [1]. The change given was 25.400 [1]. "
              "The discount was 19400 [1]. The discount was 19,500 [1].")
    checked, dropped = check_support(answer, sources, AnswerSettings(min_support=0.5))
    assert checked == ("Each hydrophone recalibration happens every 90 days [1]. The change given was 25.400 [1]. "
                       "The discount was 19400 [1].")
    assert dropped == ("The discount was 19,500.",)   # an invented amount


def test_a_sentence_with_invented_numbers_is_not_supported() -> None:
    from rag.answer.support import numbers_in

    source = "SUBTOTAL 59.85\nSERVICE 10% 5.99\nTOTAL 65.84\nCard 1,250 points"
    assert numbers_in("The total was 65.84 [1].", source)
    assert numbers_in("The card has 1250 points.", source)
    assert not numbers_in("The total on the receipt is 10.59 cents (28.47%) [1].", source)
    assert numbers_in("No numbers here at all.", source)
    assert numbers_in("The total was 65,84.", source) and not numbers_in("The total was 6584.", source)

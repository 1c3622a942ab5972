"""Extractive answers (`--llm none`): answer types, quotable units, the stemmer, the relevance bar on OCR'd
text, and answers over real sample files (receipt photo, scanned memo, Slack and Notion exports, paper)."""

from __future__ import annotations

import shutil

import pytest
from conftest import SAMPLES

from rag import Index
from rag.answer.answertype import candidates, expected_type, head_terms, number_values
from rag.answer.prompts import NOT_FOUND
from rag.answer.settings import AnswerSettings
from rag.answer.text import coverage, fuzzy_coverage, near_words, stem
from rag.answer.units import units
from rag.core.types import Answer, Chunk, Hit
from rag.eval.metrics import answer_correct
from rag.llm.protocol import LLMSettings

NONE = LLMSettings(backend="none")
FILES = ("paper.pdf", "notes.md", "meeting.txt", "receipt.png", "scanned_memo.pdf", "slack_export.zip",
         "notion_export.zip", "budget.docx")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    base = tmp_path_factory.mktemp("extractive")
    (base / "docs").mkdir()
    for name in FILES:
        shutil.copy2(SAMPLES / name, base / "docs" / name)
    idx = Index.open(base / "index")
    summary = idx.ingest(base / "docs")
    assert summary.added == len(FILES) and not summary.failed
    return idx


def test_stem_meets_plurals_and_verb_forms() -> None:
    assert stem("hydrophones") == stem("hydrophone")
    assert stem("studies") == stem("study") and stem("boxes") == stem("box")
    assert stem("trained") == stem("training") == stem("train")
    assert stem("status") == "status" and stem("analysis") == "analysis"
    assert coverage("How often are the hydrophones recalibrated?", "Each hydrophone is recalibrated often") == 1.0


def test_ocr_noise_and_word_forms_still_match() -> None:
    assert near_words(stem("change"), stem("chpnge")) == 0.8        # one OCR error in a long word
    assert near_words("assigne", "assign") == 0.9                   # assignee / assigned
    assert near_words("tax", "tay") == 0.0                          # short words must match exactly
    assert fuzzy_coverage("How much change was given back?", "(2 t CHPNGE 0S 25, 400") > 0.0
    assert coverage("How much change was given back?", "(2 t CHPNGE 0S 25, 400") == 0.0


@pytest.mark.parametrize("question, kind", [
    ("How much did the board approve for the new boat engine?", "amount"),
    ("How many parameters does Lumen have?", "number"),
    ("What recall at 10 does Lumen reach on the Tidepool benchmark?", "number"),
    ("What F1 score does ScienceParse get when extracting paper titles?", "number"),
    ("Who is the data steward?", "name"),
    ("When is the annual review?", "date"),
    ("What is the due date of the API Integration project?", "date"),
    ("How often are the hydrophones recalibrated?", "duration"),
    ("How long did Lumen's training take?", "duration"),
    ("Where do cores taken before 2015 go?", "place"),
    ("Is the gateway load tested before launch?", "yes_no"),
    ("What does SPECTER mean by hard negatives?", "definition"),
    ("Which beta sites go first?", "entity"),
    ("What was the total amount on the receipt?", "amount"),
])
def test_expected_type(question: str, kind: str) -> None:
    assert expected_type(question) == kind


def test_head_terms_name_the_asked_attribute() -> None:
    assert head_terms("What dropout rate did SPECTER use during training?") == (["dropout", "rate"], False)
    assert head_terms("How much tax was charged on the receipt?") == (["tax"], True)
    assert head_terms("Who is the assignee of the Write documentation task?") == (["assignee"], True)
    assert head_terms("Who created an issue for a setup.py?") == ([], False)


def test_candidates_of_each_type() -> None:
    text = "It consists of 1.4M PDFs; LR 2e-5; DISCOUNT 19,400; TOTAL 174,60 and $43,456.78 (12.5% of it)."
    assert [c.text for c in candidates(text, "number")] == ["1.4M", "2e-5", "19,400", "174,60", "$43,456.78",
                                                            "12.5%"]
    assert "$43,456.78" in [c.text for c in candidates(text, "amount")]
    dates = "on August 1, 1965, from 2025-03-01 → 2025-03-15, 14/03/2024 at 19:42, 22 April 2024, in the 1060s"
    assert [c.text for c in candidates(dates, "date")] == ["August 1, 1965", "2025-03-01 → 2025-03-15",
                                                           "14/03/2024", "19:42", "22 April 2024", "1060s"]
    assert [c.text for c in candidates("took 26.39s, every 10 minutes", "duration")] == ["26.39s",
                                                                                        "every 10 minutes"]
    assert "Dave Wilson" in [c.text for c in candidates("Assignee: Dave Wilson", "name")]


def test_number_values_read_separators() -> None:
    assert number_values("19,400") == number_values("19.400") == {19400.0, 19.4}
    assert number_values("174,60") == {174.6} and number_values("1.4M") == {1400000.0}
    assert number_values("25, 400") & number_values("25,400")
    assert number_values("no digits") == set()


def _texts(text: str, locator: dict | None = None) -> list[str]:
    return [text[u.start:u.end] for u in units(text, locator)]


def test_units_never_cut_a_row_or_a_key_value_line() -> None:
    row = "Name: Load test the gateway; Status: To do; Assignee: Chen Wei; Due: 2026-03-01"
    assert _texts(row, {"row": "Load test the gateway"}) == [row]
    page = "# API Integration\n\nStatus: In progress\nOwner: Ana Lima\nDue: 2026-02-27\n\nThe portal is fed."
    assert _texts(page) == ["# API Integration", "Status: In progress", "Owner: Ana Lima", "Due: 2026-02-27",
                            "The portal is fed."]


def test_units_of_a_slack_section_are_its_messages() -> None:
    text = ("Ana Lima: Heads-up: the launch moves to March 3.\nBen Sato: Thanks!\n"
            "Dana Reyes: Guided tours resume on March 5.\nhttps://example.com/tours\nTours | Example")
    assert _texts(text, {"channel": "general"}) == [
        "Ana Lima: Heads-up: the launch moves to March 3.", "Ben Sato: Thanks!",
        "Dana Reyes: Guided tours resume on March 5.\nhttps://example.com/tours\nTours | Example"]


def test_units_of_receipts_tables_and_ocr_lines() -> None:
    receipt = "SUBTOTAL 59.85\nSERVICE 10% 5.99\nTOTAL 65.84\nCARD VISA ****4821 65.84"
    assert _texts(receipt) == receipt.split("\n")
    ocr = "This is a lot of 12 point text to test the\nocr code and see if it works on all types\nof file format."
    assert _texts(ocr) == [ocr]   # one sentence over three OCR'd lines
    assert _texts("TOTAL 65.84\nthank you") == ["TOTAL 65.84", "thank you"]   # a line that ends a number
    table = "SGC (2019a) 76.8 82.7 77.2 88.0 75.7 87.5 SciBERT (2019) 79.7 80.7 50.7 73.1 47.7 71.1"
    assert _texts(table) == ["SGC (2019a) 76.8 82.7 77.2 88.0 75.7 87.5",
                             "SciBERT (2019) 79.7 80.7 50.7 73.1 47.7 71.1"]
    prose = "Lumen reaches a recall at 10 of 0.847 (Smith et al. 2020). The BM25 baseline reaches 0.792."
    assert _texts(prose) == ["Lumen reaches a recall at 10 of 0.847 (Smith et al. 2020).",
                             "The BM25 baseline reaches 0.792."]


def test_citation_markers_are_not_numbers_in_the_metric() -> None:
    assert not answer_correct("The total is 65.84 [2]", ["2"])
    assert answer_correct("Two of them [1]: it took 2 days [2]", ["2 days"])


def test_relevance_bar_keeps_ocr_text_the_question_names() -> None:
    from rag.answer.generate import relevant

    text = "| : psp - 19,400\"\n/ OT ay . 174,60\u201d\n(2 t CHPNGE 0S 25, 400"
    hit = Hit(Chunk("c", "d", text, {}, 0, len(text)), 1.0, "images/cord_test_receipt_00004.png", similarity=0.1)
    assert relevant("How much change was given back according to the receipt?", [hit], AnswerSettings()) == [hit]
    assert relevant("What is the capital of Australia?", [hit], AnswerSettings()) == []


def _section_of(index: Index, answer: Answer, n: int = 0) -> str:
    citation = answer.citations[n]
    hit = answer.hits[citation.number - 1]
    return index.store.section_text(hit.chunk.doc_id, hit.chunk.section)


def _assert_exact(index: Index, answer: Answer) -> None:
    for n, citation in enumerate(answer.citations):
        assert _section_of(index, answer, n)[citation.start:citation.end] == citation.quote
        assert f"“{citation.quote}” [{citation.number}]" in answer.text


@pytest.mark.slow
def test_receipt_total_quotes_the_total_line(index: Index) -> None:
    answer = index.ask("What was the total on the Harbor Lights Bistro receipt?", llm=NONE)
    assert answer.found and answer.text.startswith("65.84 — “TOTAL 65.84” [")
    assert answer.citations[0].source == "receipt.png" and answer.citations[0].quote == "TOTAL 65.84"
    _assert_exact(index, answer)


@pytest.mark.slow
def test_scanned_memo_fact(index: Index) -> None:
    answer = index.ask("What is the archive room's door code?", llm=NONE)
    assert answer.found and answer.text.startswith("7391 — ")
    assert answer.citations[0].source == "scanned_memo.pdf" and "Its door code is 7391." in answer.citations[0].quote


@pytest.mark.slow
def test_notion_property_and_row_are_quoted_whole(index: Index) -> None:
    owner = index.ask("Who owns the API Integration project?", llm=NONE)
    assert owner.found and owner.text.startswith("Ana Lima — ")
    assert any(c.quote.endswith("Ana Lima") for c in owner.citations), owner.text
    assert not any(c.quote.rstrip().endswith((":", ";")) for c in owner.citations)
    row = index.ask("Who will load test the gateway?", llm=NONE)
    assert row.found and "Chen Wei" in row.text
    quote = next(c.quote for c in row.citations if "Chen Wei" in c.quote)
    assert "Load test the gateway" in quote and "2026-03-01" in quote     # the row with all its columns
    _assert_exact(index, owner)
    _assert_exact(index, row)


@pytest.mark.slow
def test_slack_answer_quotes_the_message_that_holds_it(index: Index) -> None:
    answer = index.ask("When do guided tours resume?", llm=NONE)
    assert answer.found and answer.text.startswith("March 5 — ")
    first = answer.citations[0]
    assert first.quote.startswith("Dana Reyes: ") and "March 5" in first.quote and "March 3" not in first.quote
    assert first.locator["channel"] == "general"
    _assert_exact(index, answer)


@pytest.mark.slow
def test_paper_number_comes_first(index: Index) -> None:
    answer = index.ask("What recall at 10 does Lumen reach on the Tidepool benchmark?", llm=NONE)
    assert answer.found and answer.text.startswith("0.847 — ")
    assert (answer.citations[0].source, answer.citations[0].locator["page"]) == ("paper.pdf", 3)
    _assert_exact(index, answer)


@pytest.mark.slow
@pytest.mark.parametrize("question", [
    "What learning rate was Lumen trained with?",          # the paper talks about training, not this
    "How much tax was charged at the Harbor Lights Bistro?",  # the receipt has a service charge, no tax
    "What is the capital of Australia?",
])
def test_near_misses_are_refused(index: Index, question: str) -> None:
    answer = index.ask(question, llm=NONE)
    assert not answer.found and answer.text == NOT_FOUND and answer.citations == (), answer.text

"""Self-ask: which questions get follow-ups, parsing the model's plain "Follow up:" lines, and the flow
with a scripted backend (the boundary) and real answers from a real index over sample_docs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer.selfask import MAX_FOLLOW_UPS, merged, parse_step, self_ask, steps_in_prompt, two_hop
from rag.core.types import Answer, Chunk, Citation, Hit
from rag.llm.chatml import chatml
from rag.llm.protocol import Message


@pytest.mark.parametrize("question", [
    "Which author is on both the S2ORC paper and the LongEval paper?",
    "Which is bigger by number of papers: S2ORC, or the literature graph?",
    "Is the 1.5B model slower than the 0.5B model?",
    "The retrospective names one project; who is that project's assignee?",
    "What is the due date of the project whose design was reviewed?",
])
def test_two_hop_questions_are_recognised(question: str) -> None:
    assert two_hop(question)


@pytest.mark.parametrize("question", [
    "How many author nodes are there in the Semantic Scholar literature graph?",
    "What is the total on the receipt?",
    "Who wrote the paper about citation graphs?",
])
def test_single_hop_questions_cost_no_follow_up(question: str) -> None:
    assert not two_hop(question)


@pytest.mark.parametrize("text, expected", [
    ("Follow up: Who wrote the S2ORC paper?", ("Who wrote the S2ORC paper?", None)),
    ("follow-up question 1: Who wrote it?\n", ("Who wrote it?", None)),
    ("  **Follow up:**  Which project was done early?  ", ("Which project was done early?", None)),
    ("Are follow up questions needed here: Yes.\nFollow up: Who leads it?", ("Who leads it?", None)),
    ("Follow up: Who leads it?\nIntermediate answer: Bob.\nSo the final answer is: Bob", ("Who leads it?", None)),
    ("So the final answer is: Sarah Chen", (None, "Sarah Chen")),
    ("so the final answer is Sarah Chen.", (None, "Sarah Chen.")),
    ("Intermediate answer: made up\nFollow up: ignored?", (None, None)),
    ("I cannot help with that.", (None, None)),
    ("Follow up: ?", (None, None)),
    ("", (None, None)),
])
def test_parse_step_is_robust_to_small_model_variations(text: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_step(text) == expected


class Scripted:
    """A backend that replies with the given lines in turn (the model boundary), recording the prompts."""

    name, model = "scripted", "scripted"

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.sent: list[list[Message]] = []

    def render(self, messages: list[Message]) -> str:
        return chatml(messages)

    def complete(self, messages: list[Message]) -> str:
        self.sent.append(messages)
        return self.replies.pop(0) if self.replies else ""

    def stream(self, messages: list[Message]) -> Iterator[str]:
        yield self.complete(messages)


def hit(source: str, text: str) -> Hit:
    return Hit(Chunk(f"{source}#0", source, text, {"page": 1}, 0, len(text)), 1.0, source)


def answered(question: str, source: str, text: str) -> Answer:
    h = hit(source, text)
    return Answer(question, f"{text} [1]", (Citation(source, {"page": 1}, text, 1, 0, len(text)),), "p", "m", (h,))


def test_self_ask_answers_each_follow_up_and_cites_both_places() -> None:
    facts = {"Which project was completed early?": answered("q1", "retro.md", "Website Redesign was completed early."),
             "Who is the assignee of Website Redesign?": answered("q2", "projects.csv", "Assignee: Sarah Chen.")}
    backend = Scripted(["Follow up: Which project was completed early?",
                        "Follow up: Who is the assignee of Website Redesign?", "So the final answer is: Sarah Chen"])
    first = Answer("Q", "The documents do not contain an answer to this question.", (), "first prompt", "m",
                   found=False)
    out = self_ask("Q; who is that project's assignee?", first, backend, lambda q: facts[q])
    assert out.found and out.text == "Sarah Chen [1][2]."
    assert [c.source for c in out.citations] == ["retro.md", "projects.csv"]
    assert [q for q, _, _ in out.steps] == list(facts)
    assert "Intermediate answer: Website Redesign was completed early." in backend.sent[1][1][1]
    assert "self-ask step 3" in out.prompt


def test_a_follow_up_the_documents_do_not_answer_keeps_the_first_answer() -> None:
    first = answered("Q", "a.md", "Alpha.")
    missing = Answer("q", "The documents do not contain an answer to this question.", (), "p", "m", found=False)
    out = self_ask("Q both?", first, Scripted(["Follow up: Who?", "Follow up: What?"]), lambda q: missing)
    assert out.text == first.text and out.citations == first.citations
    assert len(out.steps) == 1 and out.steps[0][0] == "Who?"


def test_at_most_three_follow_ups_and_no_repeats() -> None:
    replies = [f"Follow up: Question number {n}?" for n in range(10)]
    asked: list[str] = []
    out = self_ask("Q both?", answered("Q", "a.md", "A."), Scripted(replies),
                   lambda q: asked.append(q) or answered(q, f"{len(asked)}.md", f"Fact {len(asked)}."))
    assert len(asked) == MAX_FOLLOW_UPS and len(out.steps) == MAX_FOLLOW_UPS
    repeat = Scripted(["Follow up: Same?", "Follow up: same?"])
    calls: list[str] = []
    self_ask("Q both?", answered("Q", "a.md", "A."), repeat, lambda q: calls.append(q) or answered(q, "b.md", "B."))
    assert calls == ["Same?"]


def test_merged_renumbers_shared_sources_once() -> None:
    a, b = answered("1", "x.md", "One."), answered("2", "x.md", "One.")
    hits, citations = merged([("1", a), ("2", b)])
    assert len(hits) == 1 and [c.number for c in citations] == [1, 1]


def test_single_hop_question_makes_no_extra_call_through_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.index import Index
    from rag.llm import registry
    from rag.llm.protocol import LLMSettings

    backend = Scripted(["Self-ask is not used for this question [1]."] * 5)
    monkeypatch.setattr(registry, "make_backend", lambda settings: backend)
    idx = Index.open(tmp_path / "idx", embedder="hashing")
    idx.ingest(Path(__file__).resolve().parent.parent / "sample_docs")
    idx.ask("What is in the sample documents?", llm=LLMSettings(backend="embedded"))
    assert len(backend.sent) <= 1 and all(m[0][1] != "" for m in backend.sent)
    assert not any("Follow up" in m[0][1] for m in backend.sent)


def test_the_steps_can_be_read_back_from_the_saved_prompt() -> None:
    facts = {"Who wrote it?": answered("q1", "a.md", "Ana wrote it."),
             "What does Ana lead?": answered("q2", "b.md", "Ana leads the data team.")}
    backend = Scripted(["Follow up: Who wrote it?", "Follow up: What does Ana lead?", "So the final answer is: data"])
    out = self_ask("Which team does that author lead?", answered("Q", "c.md", "C."), backend, lambda q: facts[q])
    assert steps_in_prompt(out.prompt) == [("Who wrote it?", "Ana wrote it."),
                                           ("What does Ana lead?", "Ana leads the data team.")]
    assert steps_in_prompt("a prompt without self-ask") == []


def test_a_final_answer_not_drawn_from_the_steps_is_replaced_by_the_last_intermediate_answer() -> None:
    facts = {"Who wrote it?": answered("q1", "a.md", "Arman Cohan wrote it.")}
    backend = Scripted(["Follow up: Who wrote it?", "So the final answer is: Ana Ruiz leads the data team"])
    out = self_ask("Which author is on both papers?", answered("Q", "c.md", "C."), backend, lambda q: facts[q])
    assert out.text == "Arman Cohan wrote it [1]."

"""Self-ask for two-hop questions: the model writes follow-up questions, each answered from the index.

Only a question that looks two-hop (`two_hop`: "both", a comparison, "A; … that paper …", "the project
whose …") costs more calls; a single-hop question costs none. The model writes, one at a time, in the
plain self-ask format (parsed with regular expressions, no JSON, forgiving of a small model's variations):

    Follow up: Which project was completed ahead of schedule?
    Intermediate answer: Website Redesign [1].        <- written by us: Index.ask's answer, with citations
    Follow up: Who is the assignee of Website Redesign?
    Intermediate answer: Sarah Chen [2].
    So the final answer is: Sarah Chen

At most MAX_FOLLOW_UPS. The final answer cites the intermediate answers' sources (renumbered into one
list). When a follow-up is not answered from the documents, or none is written, the first answer stands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from rag.answer.prompts import SELF_ASK_EXAMPLE, SELF_ASK_SYSTEM
from rag.answer.text import stems, strip_citations
from rag.core.types import Answer, Citation, Hit
from rag.llm.protocol import ChatBackend, Message

MAX_FOLLOW_UPS = 3
_TWO_HOP = re.compile(
    r"\bboth\b|\bcompar|\bdiffer|\b(?:bigger|smaller|larger|more|fewer|less|higher|lower|earlier|later|older"
    r"|newer|faster|slower|longer|shorter|cheaper|better|worse)\b.*\bthan\b"
    r"|\bwhich is (?:bigger|larger|smaller|more|higher|lower|older|newer)|;\s|\bwhose\b"
    r"|\b(?:that|this) (?:paper|project|repository|document|person|author|note|page|file)(?:'s)?\b", re.I)
_FOLLOW_UP = re.compile(r"^\W*follow[\s-]*up(?:\s+question)?\s*\d*\s*[:：-]\W*?\s*(?P<q>\w.+?)\s*$", re.I | re.M)
_FINAL = re.compile(r"^\W*so\s+the\s+final\s+answer\s+is\s*[:：]?[*\s]*(?P<a>.+?)\s*$", re.I | re.M)
_INTERMEDIATE = re.compile(r"^\W*intermediate\s+answer\b", re.I | re.M)


def two_hop(question: str) -> bool:
    return bool(_TWO_HOP.search(question))


def parse_step(text: str) -> tuple[str | None, str | None]:
    """(the next follow-up question, the final answer) from what the model wrote — either may be None.
    Only what comes before the model's own "Intermediate answer" counts: that one we write."""
    cut = _INTERMEDIATE.search(text)
    text = text[: cut.start()] if cut else text
    final = _FINAL.search(text)
    follow = _FOLLOW_UP.search(text)
    if final and (not follow or final.start() < follow.start()):
        return None, final.group("a").strip() or None
    if follow:
        question = follow.group("q").strip().strip('"“”')
        return (question if len(question) > 3 else None), None
    return None, None


def transcript(question: str, steps: list[tuple[str, str]]) -> str:
    lines = [f"Question: {question.strip()}", "Are follow up questions needed here: Yes."]
    for q, a in steps:
        lines += [f"Follow up: {q}", f"Intermediate answer: {a}"]
    return "\n".join(lines) + "\n"


def step_messages(question: str, steps: list[tuple[str, str]]) -> list[Message]:
    return [("system", SELF_ASK_SYSTEM), ("user", f"{SELF_ASK_EXAMPLE}\n\n{transcript(question, steps)}")]


def self_ask(question: str, first: Answer, backend: ChatBackend, ask: Callable[[str], Answer]) -> Answer:
    """The answer built from follow-ups, or `first` (with the steps tried) when they do not hold."""
    steps: list[tuple[str, Answer]] = []
    final: str | None = None
    prompts: list[str] = []
    for _ in range(MAX_FOLLOW_UPS + 1):
        messages = step_messages(question, [(q, strip_citations(a.text)) for q, a in steps])
        prompts.append(backend.render(messages))
        follow, final = parse_step(backend.complete(messages))
        if final is not None or follow is None or len(steps) == MAX_FOLLOW_UPS:
            break
        if any(follow.lower() == q.lower() for q, _ in steps):
            break  # a small model repeating itself
        answer = ask(follow)
        steps.append((follow, answer))
        if not answer.found:
            break
    recorded = tuple((q, a.text, a.citations) for q, a in steps)
    prompt = first.prompt + "".join(f"\n\n── self-ask step {n} ──\n{p}" for n, p in enumerate(prompts, 1))
    if not steps or not all(a.found for _, a in steps):
        return replace(first, steps=recorded, prompt=prompt)
    hits, citations = merged(steps)
    marks = "".join(f"[{n}]" for n in sorted({c.number for c in citations}))
    said = stems(" ".join(strip_citations(a.text) for _, a in steps))
    if final and len(stems(final) & said) < 0.5 * len(stems(final)):
        final = None  # not drawn from the intermediate answers (a small model copying the worked example)
    text = final or strip_citations(steps[-1][1].text)
    text = f"{strip_citations(text).rstrip('.')} {marks}." if marks else text
    return Answer(question, text, citations, prompt, first.model, hits, found=True, raw=final or "",
                  suspects=first.suspects, steps=recorded)


def merged(steps: list[tuple[str, Answer]]) -> tuple[tuple[Hit, ...], tuple[Citation, ...]]:
    """One source list for every step's sources, and the steps' citations renumbered into it."""
    hits: list[Hit] = []
    citations: list[Citation] = []
    for _, answer in steps:
        for c in answer.citations:
            hit = answer.hits[c.number - 1] if 0 < c.number <= len(answer.hits) else None
            if hit is None:
                continue
            if hit not in hits:
                hits.append(hit)
            citations.append(replace(c, number=hits.index(hit) + 1))
    return tuple(hits), tuple(citations)


def steps_in_prompt(prompt: str) -> list[tuple[str, str]]:
    """The (follow-up, intermediate answer) pairs recorded in an answer's prompt (its last self-ask step
    holds them all): how a saved chat turn shows how it was answered."""
    last = prompt.rsplit("── self-ask step ", 1)
    if len(last) < 2:
        return []
    own = last[1].rsplit("\nQuestion: ", 1)[-1]  # after the worked example
    pairs = re.findall(r"^Follow up: (.+)\nIntermediate answer: (.+)$", own, re.M)
    return [(q.strip(), a.strip()) for q, a in pairs]

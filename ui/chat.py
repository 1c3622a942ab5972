"""The chat page: the conversation, a streamed answer with numbered citation chips, the prompt in an
expander, and beside it the source of the citation last clicked."""

from __future__ import annotations

import streamlit as st

from rag.answer.selfask import steps_in_prompt
from rag.chat.conversations import Turn
from rag.chat.rewrite import Rewrite
from rag.chat.session import ask_turn
from ui import session
from ui.messages import shown_errors
from ui.sanitize import md_text
from ui.session import AppContext
from ui.viewer import show_source

EMPTY_HINT = ("Ask a question about your documents. Answers cite their sources as numbered chips: "
              "click one to see the passage in its page, image, recording or thread.")


def safe_markdown(text: str) -> str:
    """An answer or a question as Markdown that shows as written: no image, link, raw HTML or maths."""
    return md_text(text)


def view(turn_id: int, position: int) -> None:
    st.session_state["viewing"] = (turn_id, position)


def render_turn(turn: Turn) -> None:
    with st.chat_message("user"):
        st.markdown(safe_markdown(turn.question))
    with st.chat_message("assistant"):
        if turn.rewritten:
            st.caption(f"Searched for: {md_text(turn.searched)}")
        st.markdown(safe_markdown(turn.answer))
        if turn.suspects:
            left_out = "; ".join(f"{ref.label()} ({ref.reason})" for ref in turn.suspects)
            st.warning(md_text(f"Left out of this answer: {left_out} — these passages look like instructions "
                               "to the assistant, so they were not used."), icon=":material/warning:")
        if turn.sources:
            with st.container(horizontal=True, gap="small"):
                viewing = st.session_state.get("viewing")
                for i, ref in enumerate(turn.sources):
                    st.button(f"[{ref.number}] {md_text(ref.label())}", key=f"cite-{turn.id}-{i}", on_click=view,
                              args=(turn.id, i), type="primary" if viewing == (turn.id, i) else "secondary")
        steps = steps_in_prompt(turn.prompt)
        if steps:
            with st.expander("How this was answered"):
                for n, (follow_up, intermediate) in enumerate(steps, start=1):
                    st.markdown(md_text(f"{n}. {follow_up} — {intermediate}"))
        with st.expander("Prompt sent to the model"):
            st.code(turn.prompt, language="json" if turn.prompt.startswith("[") else None, wrap_lines=True)


def answer_new(ctx: AppContext, question: str) -> bool:
    """Ask `question` in the open conversation (starting one if none is open); True when it was answered."""
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    conversation = session.conversation()
    started = conversation is None
    if conversation is None:
        conversation = ctx.store.create().id
    with st.chat_message("assistant"), shown_errors(ctx.settings.llm):
        searched = st.empty()
        placeholder = st.empty()
        pieces: list[str] = []

        def on_token(piece: str) -> None:
            pieces.append(piece)
            placeholder.markdown(safe_markdown("".join(pieces)) + " ▌")

        def on_rewrite(rw: Rewrite) -> None:
            if rw.rewritten:
                searched.caption(f"Searched for: {md_text(rw.searched)}")

        with st.spinner("Searching the documents and writing the answer…"), ctx.lock:
            ask_turn(ctx.index, ctx.store, conversation, question, ctx.settings.llm, ctx.settings.top_k,
                     on_token=on_token, on_rewrite=on_rewrite)
        session.open_conversation(conversation)
        return True
    if started:
        ctx.store.delete(conversation)   # a first question that failed leaves no empty conversation behind
    return False


def render_viewer(ctx: AppContext, turns: list[Turn]) -> None:
    viewing = st.session_state.get("viewing")
    by_id = {t.id: t for t in turns}
    if not viewing or viewing[0] not in by_id or viewing[1] >= len(by_id[viewing[0]].sources):
        st.info("Click a numbered citation to see its source here.")
        return
    ref = by_id[viewing[0]].sources[viewing[1]]
    with shown_errors(ctx.settings.llm):
        show_source(ctx.index, ref)
    st.button("Close the source", key="close-viewer", on_click=view_nothing)


def view_nothing() -> None:
    st.session_state["viewing"] = None


STICKY_VIEWER = """<style>
div[data-testid="stColumn"]:has(.st-key-source-viewer) {
  position: sticky; top: 3.5rem; align-self: flex-start; max-height: calc(100vh - 9rem); overflow-y: auto; }
</style>"""
"""The source viewer stays in sight while the conversation scrolls."""


def render_chat(ctx: AppContext) -> None:
    st.html(STICKY_VIEWER)
    conversation = session.conversation()
    turns = ctx.store.turns(conversation) if conversation is not None else []
    left, right = st.columns([1, 1] if st.session_state.get("viewing") else [3, 2], gap="large")
    question = st.chat_input("Ask about your documents…", key="question")
    with left:
        if conversation is not None:
            st.subheader(md_text(ctx.store.get(conversation).title))
        if not turns and not question:
            st.info(EMPTY_HINT)
        for turn in turns:
            render_turn(turn)
        if question and answer_new(ctx, question):
            st.rerun()
    with right, st.container(key="source-viewer"):
        render_viewer(ctx, turns)

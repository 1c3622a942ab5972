"""The sidebar's conversations: start, reopen, rename, delete, and "remember this"."""

from __future__ import annotations

import time

import streamlit as st

from rag.chat.conversations import Conversation
from ui import session
from ui.messages import shown_errors
from ui.sanitize import md_text
from ui.session import AppContext


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def render_history(ctx: AppContext) -> None:
    bar = st.sidebar
    bar.subheader("Conversations")
    bar.button("New conversation", key="conv-new", icon=":material/add:", on_click=session.open_conversation,
               args=(None,), width="stretch")
    conversations = ctx.store.all()
    current = session.conversation()
    if current is not None and current not in {c.id for c in conversations}:
        session.open_conversation(None)
        current = None
    if not conversations:
        where = "in the index folder" if ctx.index.local else "on this machine, not in the database"
        bar.caption(f"No conversations yet: your questions and answers are kept here, {where}.")
    for conv in conversations:
        bar.button(md_text(conv.title), key=f"conv-{conv.id}", type="primary" if conv.id == current else "secondary",
                   on_click=session.open_conversation, args=(conv.id,), width="stretch",
                   help=f"conversation {conv.id} (`rag chat --conversation {conv.id}`) · {conv.turns} turns · "
                        f"last used {when(conv.updated)}")
    chosen = next((c for c in conversations if c.id == current), None)
    if chosen is not None:
        manage(ctx, chosen)


def manage(ctx: AppContext, conv: Conversation) -> None:
    with st.sidebar.expander("This conversation", expanded=False, icon=":material/edit:"):
        title = st.text_input("Title", value=conv.title, key=f"title-{conv.id}")
        with shown_errors():
            if st.button("Rename", key=f"rename-{conv.id}") and title.strip() != conv.title:
                ctx.store.rename(conv.id, title)
                st.rerun()
        st.caption("Remember this: add the conversation's answers to the index as a document of its own, "
                   "so later answers can cite it.")
        with shown_errors(ctx.settings.llm):
            if st.button("Remember this", key=f"remember-{conv.id}", icon=":material/neurology:"):
                remember(ctx, conv)
        if st.button("Delete conversation", key=f"delete-{conv.id}", icon=":material/delete:"):
            ctx.store.delete(conv.id)
            session.open_conversation(None)
            st.rerun()


def remember(ctx: AppContext, conv: Conversation) -> None:
    from rag.chat.memory import remember as write_memory

    with st.spinner("Adding the conversation to the index…"), ctx.lock:
        path, summary = write_memory(ctx.index, ctx.store, conv.id)
    if summary.failed:
        st.error(md_text("; ".join(f.error for f in summary.failed)))
    else:
        st.success(md_text(f"Remembered as {path.name}: later answers can cite it "
                           f"(“from our conversation on {time.strftime('%Y-%m-%d', time.localtime(conv.created))}”)."))

"""The app `rag app --index DIR` serves: chat with your documents, see the sources, manage the library.

Streamlit runs this file as a script on every interaction; the index (a folder or a postgresql://
URL) comes in $RAG_INDEX.
Start it with `rag app`, which binds 127.0.0.1 and turns usage statistics off.
"""

from __future__ import annotations

import streamlit as st

from ui.messages import message_for
from ui.sanitize import md_text

PAGES = (":material/chat: Chat", ":material/library_books: Library")


def main() -> None:
    from rag.core.offline import guard_from_environment

    guard_from_environment()   # RAG_NO_NETWORK=1 (the tests set it): no connection leaves this machine
    st.set_page_config(page_title="rag — chat with your documents", page_icon=":material/library_books:", layout="wide")
    from ui import auth, session

    if not auth.signed_in():
        st.stop()
        return

    try:
        ctx = session.context()
    except Exception as exc:  # the index cannot be opened: say why and how to fix it, nothing else works
        st.title("rag")
        st.error(md_text(message_for(exc)), icon=":material/error:")
        st.stop()
        return
    from ui.chat import render_chat
    from ui.history import render_history
    from ui.library import render_library
    from ui.settings import render_settings

    st.sidebar.title(":material/library_books: rag")
    st.sidebar.caption(md_text(f"Index: {ctx.shown or ctx.folder}"))
    for note in ctx.settings.ignored:
        st.sidebar.warning(md_text(note), icon=":material/warning:")
    page = st.sidebar.radio("Page", PAGES, key="page", horizontal=True, label_visibility="collapsed")
    settings = render_settings(ctx.folder, ctx.settings)
    if settings != ctx.settings:
        ctx = session.context()
    render_history(ctx)
    if page == PAGES[1]:
        render_library(ctx)
    else:
        render_chat(ctx)


main()

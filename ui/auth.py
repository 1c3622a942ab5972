"""The app's password: asked for first when `rag app` was given one (always, off this machine).

`rag app --host 0.0.0.0` refuses to start without a password (rag/launch.py); it passes the password
in $RAG_APP_PASSWORD. Each browser session signs in once; a wrong password costs a second. Started some
other way on a non-loopback address without a password, the app shows nothing but that refusal.
"""

from __future__ import annotations

import hmac
import os
import time

import streamlit as st

from rag.launch import PASSWORD_ENV, is_loopback

SIGNED_IN = "signed-in"


def signed_in() -> bool:
    """True when this browser session may see the app; otherwise the sign-in form (or the refusal) is shown."""
    expected = os.environ.get(PASSWORD_ENV, "")
    if not expected:
        host = str(st.get_option("server.address") or "")
        if host and not is_loopback(host):
            st.error(f"This app is served on {host} without a password — restart it with "
                     f"`rag app --host {host} --password-file FILE` (or set ${PASSWORD_ENV}).")
            return False
        return True
    if st.session_state.get(SIGNED_IN):
        return True
    st.title("rag")
    entered = st.text_input("Password", type="password", key="password")
    st.button("Sign in", key="sign-in")
    if entered:
        if hmac.compare_digest(entered.encode("utf-8"), expected.encode("utf-8")):
            st.session_state[SIGNED_IN] = True
            del st.session_state["password"]
            st.rerun()
        time.sleep(1.0)   # slows guessing down
        st.error("Wrong password.")
    return False

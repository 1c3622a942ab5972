"""The Streamlit app (`rag app`). Nothing here imports streamlit at module level except ui/app.py and the
page modules it imports, so `rag --help` stays instant."""

"""Conversations: a chat turn (session.py), the conversation store, "remember this" (memory.py) and
follow-up rewriting (rewrite.py)."""

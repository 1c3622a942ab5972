"""Retrieval: dense and lexical candidates fused into one ranking (fusion.py); lexical query building and
stop words (lexical.py)."""

"""Evaluation: `rag eval` (run.py) over BEIR sets (beir.py) and QA sets (qa.py), with ranking, answer and
text metrics (metrics.py)."""

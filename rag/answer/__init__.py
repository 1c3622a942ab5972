"""From passages to a cited answer: every prompt (prompts.py), the model path (generate.py), the extractive
path (extractive.py), the sentence-by-sentence support check (support.py) and the text tools they share
(text.py: stems, sentences, citation markers)."""

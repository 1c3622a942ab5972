"""The index's storage: the Store Protocol, SQLite as the truth (sqlite.py), the FAISS file derived from it
(faiss.py), the write lock and the records the store hands out."""

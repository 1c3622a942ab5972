"""The index on PostgreSQL + pgvector: the same Store Protocol as rag.sqlite, shared by many writers.

url.py (what a database URL is, shown without its password) · schema.py (tables, migrations, checks) ·
codec.py (vectors to and from pgvector) · lexical.py (BM25 over tsvector) · store.py (PostgresStore) ·
errors.py (what a server or driver error means, and its fix). psycopg is imported only by store.py and
its helpers, never by url.py, so recognising a URL costs nothing.
"""

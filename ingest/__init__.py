"""Turning files into index entries: scan (files and content hashes), plan (added/changed/removed),
the loader registry, isolation (each file loaded in a worker process), chunking and the pipeline that
commits chunks and vectors to the store. The loaders themselves are in ingest/loaders/."""

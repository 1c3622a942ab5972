"""Turning files into documents: loaders (by file type), chunking, scanning and the ingest pipeline."""

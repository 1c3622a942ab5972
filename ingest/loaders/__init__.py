"""One module per file format, each keeping the Loader Protocol (spec.py); safe archive reading (safezip.py)
and text decoding (decode.py) that several of them share. The registry that files them by suffix is
ingest/registry.py."""

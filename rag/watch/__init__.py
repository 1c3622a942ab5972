"""`rag watch FOLDER`: keep an index in step with a folder as files are added, edited, renamed and deleted.

debounce.py decides when a batch of changes is due (pure, with the clock passed in); report.py turns the
index before and after a batch into one line per change; run.py watches the folder (watchdog/inotify),
runs one incremental ingest per batch and stops cleanly on Ctrl-C or SIGTERM.
"""

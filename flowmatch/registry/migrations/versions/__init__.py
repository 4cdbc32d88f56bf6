"""One module a schema revision, oldest first (``0001_...``); each names the one before it."""

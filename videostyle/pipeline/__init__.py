"""Turning inputs into outputs: one file (a streaming loop for videos and GIFs), and
many files planned as jobs."""

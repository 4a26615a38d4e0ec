"""Opastin's service knowledge base: catalogue store, indexing and retrieval.

Nothing here imports `api` or `actions`; both import this package.
"""

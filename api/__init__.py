"""Opastin's HTTP API (FastAPI): search, about, health; later chat, consoles, channels."""

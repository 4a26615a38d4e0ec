"""Rasa input channels (loaded by Rasa from bot/credentials.yml)."""

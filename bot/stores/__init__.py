"""Rasa tracker stores (loaded by Rasa from bot/endpoints.yml)."""

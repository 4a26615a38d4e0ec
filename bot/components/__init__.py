"""Custom Rasa graph components (loaded by Rasa from config.yml)."""

"""Rasa SDK custom actions. They read slots, call the knowledge base and answer with
message keys ({key, params}) that the API renders in the user's language."""

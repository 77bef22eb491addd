"""Accounts and access: people and systems who use the platform, their roles, sessions and API
tokens, and the one place that decides what each caller may see (``access.py``)."""

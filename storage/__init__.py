"""Persistence: SQLModel tables, the engine factory, migrations and data-access functions.

Nothing here imports a chat platform SDK or an HTTP client.
"""

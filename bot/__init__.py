"""opsbot: the chat bot of a content-operations team."""

__version__ = "0.1.0"

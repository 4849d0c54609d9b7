"""Adapters translate between a chat platform and the neutral Command / Reply model."""

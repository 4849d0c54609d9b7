"""Turning a neutral Reply into what each platform shows."""

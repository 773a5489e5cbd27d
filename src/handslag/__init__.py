"""Handslag: follow up social investments in Swedish residential areas against official statistics."""

__version__ = "0.1.0"

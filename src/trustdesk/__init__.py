"""Trustdesk: where a messaging platform meets the law and its own rules."""

__version__ = "0.1.0"

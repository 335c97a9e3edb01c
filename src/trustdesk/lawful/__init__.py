"""Lawful requests: the instrument catalogue, the deadline clock and the request workflow."""

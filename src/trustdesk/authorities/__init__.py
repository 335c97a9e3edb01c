"""Authorities: agencies, their officers and the officers' API keys."""

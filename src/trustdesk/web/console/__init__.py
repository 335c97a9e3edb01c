"""The staff console: the legal team's pages."""

"""Transparency: statements of reasons for submission, reports, the public page (DSA Arts 15, 17, 24)."""

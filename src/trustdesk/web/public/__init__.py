"""Public pages, no login: the landing page, the point of contact and the instrument catalogue."""

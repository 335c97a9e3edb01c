"""Staff users of the platform (legal team, moderators, administrators) and their roles."""

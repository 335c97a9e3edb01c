"""People logging in to the web faces: passwords, mandatory TOTP, sessions, CSRF tokens, lockout."""

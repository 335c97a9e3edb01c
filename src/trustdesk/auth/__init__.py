"""People logging in to the web faces: passwords, mandatory single-use TOTP, sessions, CSRF tokens, login
delays per account and client address."""

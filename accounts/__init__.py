"""Who may use fupin's web application and API, and what is theirs: users, roles, scopes,
passwords (argon2id), API tokens, server-side sessions and sign-in throttling."""

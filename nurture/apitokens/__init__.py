"""Per-user API tokens: created, listed, verified and revoked (`services`); the scope rule
(`scopes`) is pure."""

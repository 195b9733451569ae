"""Users, passwords, API tokens and the hash-chained audit log, shared by the CLI, the API and the server."""

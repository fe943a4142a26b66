"""registry-cli: the client commands."""

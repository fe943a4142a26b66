"""registry-service: the daemon (serve) and its composition root."""

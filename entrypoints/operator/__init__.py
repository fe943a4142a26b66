"""registry-service's operator commands (leave, snapshot, compact, status) on an etcd member."""

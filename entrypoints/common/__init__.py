"""What more than one program shares: flags, errors, exit codes, the local etcd member's address."""

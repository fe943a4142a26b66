"""The etcd cluster's use cases, one job a module: start our member (member_start), join
(join), admit a newcomer (admit), tend members (janitor), leave (leave), the quorum lease
(quorum), the daemon's cluster watch (health_watch) and the cut-off notice to watchers
(cut_off_notice)."""

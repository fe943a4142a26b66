"""The etcd adapters (python-etcd3's gRPC stubs, driven from trio)."""

import os

# gRPC's fork handlers stop and restart its pollers around every full fork(); with a
# channel busy in another thread the poller can meet its closed epoll fd and abort
# ("Epoll1Poller ... epoll_wait error: Bad file descriptor", grpc/grpc#43055). We never
# use gRPC in a forked child (each fork execs at once), so the handlers are pure risk.
# Set before grpc is imported; an explicit value in the environment wins.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

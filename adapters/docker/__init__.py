"""Docker engine adapters for `registry-cli add`: build, save, push/pull, credentials."""

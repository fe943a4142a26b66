"""Progress reporters for long `registry-cli add` runs: terminal and plain-line."""

"""Where the proxy binary packaged into every service image comes from."""

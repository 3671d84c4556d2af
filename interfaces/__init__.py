"""Ways in: the HTTP API and the `promo` command line."""

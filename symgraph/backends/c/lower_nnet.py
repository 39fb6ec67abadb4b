"""C lowerings of the neural-network ops (filled in as those ops land)."""

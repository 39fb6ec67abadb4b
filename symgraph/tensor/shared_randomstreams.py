"""RandomStreams (placeholder until the random-stream ops land)."""

"""Search: the LanceDB index and hybrid (full-text + vector, RRF) search with filters inside the index."""

"""Near-duplicates, distribution match and diversity: MinHash sketches and n-gram
profiles computed at registration, and the figures the audit derives from them."""

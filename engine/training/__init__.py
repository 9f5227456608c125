"""Training the hashing network from the library's weak tags, and measuring retrieval."""

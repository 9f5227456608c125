"""Binary codes: their layout, and the code models that make them (below the library and search)."""

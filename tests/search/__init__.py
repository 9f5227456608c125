"""Search: the Hamming index, the query language, filters, duplicates, tag suggestions, multilingual queries."""

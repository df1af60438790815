"""Storage: the embedded DuckDB store and its topic registry."""

"""Queries: field resolution and time-range selects over the store."""

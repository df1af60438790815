"""Ingest: validating incoming data, finding row times, and writing batches."""

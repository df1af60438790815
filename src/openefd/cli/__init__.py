"""The openefd command line."""

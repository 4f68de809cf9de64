"""Results (being written)."""

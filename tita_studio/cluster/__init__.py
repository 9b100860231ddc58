"""Batch fusion and evaluation spread over Ray workers (the optional `cluster` extra)."""

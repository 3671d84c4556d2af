"""Use cases: load aggregates, decide on them, save them together. Queries return DTOs."""

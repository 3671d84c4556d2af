"""Crash and fault tests: real server processes, real PostgreSQL, faults injected from outside."""

"""Benchmarks: each prints medians and a ratio against a raw asyncpg baseline."""

"""Replay and time travel: a family's read models as of any event or date."""

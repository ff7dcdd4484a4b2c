"""Scenarios and builders shared by the tests, in the domain's words.

Test modules import their shared helpers from here, never from one another.
"""

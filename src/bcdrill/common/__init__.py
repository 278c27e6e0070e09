"""Small helpers every layer shares: errors, durations, redaction of secrets, JSON formatting,
GC pauses.

Layer rule: Imports nothing else of bcdrill.
"""

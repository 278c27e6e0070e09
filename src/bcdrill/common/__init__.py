"""Small helpers every layer shares: errors, durations, timestamps, redaction of secrets, JSON
formatting, GC pauses, and the DAG algorithms (order, cycles, critical path) used by the scenario's
cycle check and by the plan.

Layer rule: must not import any other part of bcdrill.
"""

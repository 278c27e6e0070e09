"""Listeners of a run's events: the metrics exporter, the live console; notifiers to come.
A listener that fails never breaks the run.

Layer rule: Must not import run/ internals beyond the Listener protocol, nor cli/.
"""

"""The record: the hash-chained journal and its typed events, verification, signing,
the evidence bundle.

Layer rule: Must not import run/, executors/, render/, listeners/ or cli/.
"""

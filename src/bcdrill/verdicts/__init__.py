"""Pure functions of the journal: RTO/RPO evaluation, the timeline of step attempts,
summary.json.

Layer rule: Must not import executors/, run/, render/, listeners/ or cli/.
"""

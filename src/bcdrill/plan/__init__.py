"""Planning, pure: the DAG (order, cycles as `a -> b -> a`, critical path), the plan with
projected RTO per system, and its text/json/dot/mermaid formats.

Layer rule: Must not import executors/, run/, record/, render/, listeners/ or cli/.
"""

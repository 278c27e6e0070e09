"""Planning, pure: the plan with its critical path and projected RTO per system (build.py) and its
text/json/dot/mermaid formats (formats.py). The graph algorithms are in common/dag.py, shared with
the scenario's cycle check.

Layer rule: must not import executors/, run/, record/, verdicts/, render/, listeners/ or cli/.
"""

"""Running a scenario: starting and driving a run, the scheduler, one step's attempts,
polling, the RTO clock events, the session shared by a run, resume, the run directory, the lock,
and the files `drill ack` (inbox), `drill note` (notes) and the console (requests) drop for the runner.

Layer rule: Must not import render/, listeners/ or cli/: the run stops at the journal.
"""

"""How executors reach the world: local processes and process trees, SSH connections and remote
exec, ansible-runner.

Layer rule: like executors/, must not import run/, record/, render/, listeners/ or cli/.
"""

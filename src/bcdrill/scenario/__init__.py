"""Reading scenarios: YAML with positions, the declarative field tables, validation and
cross-checks, templating, variables and secrets, Ansible inventories, the JSON schema, and the
frozen model (`model.Scenario`, `model.Step`) every other layer trusts.

Layer rule: Must not import run/, executors/, record/, verdicts/, render/, listeners/ or cli/.
"""

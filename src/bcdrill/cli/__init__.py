"""The command line: the entry point and its one error boundary (exceptions -> exit codes),
the argument parsers and one function per command; `drill demo`.

Layer rule: The top layer: it may import every other layer; nothing imports it.
"""

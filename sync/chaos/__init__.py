"""The chaos harness, imported one way: `world` (people, the server process) and `checks` (the end checks)
at the bottom, `meddler` (server-side edits) on `world`, `run` (phones, faults, the run) on all three, and
`__main__` (`python -m sync.chaos`) on `run`.
"""

"""The `fieldlog` command line.

`core` holds the command registry and what commands share; each feature module (`server`, `accounts`,
`docs`, `audit`, `stats`, `synthetic`, ...) registers its commands with `core.command`; `main` is the entry
point, imports the feature modules and is imported by nobody. This file stays empty so that importing a
feature module does not import the entry point.
"""

"""Entry points: the Starlette app and the `reunite` command line."""

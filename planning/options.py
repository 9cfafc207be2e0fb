"""The planners' choices that the command line offers, importable without PuLP."""

SOLVERS = ("highs", "cbc")
METHODS = ("columns", "compact")  # kindergartens: column generation (the compact model finishes), or compact alone

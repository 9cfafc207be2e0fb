"""Allocation planning for the plan's teacher actions: special-post teachers and targeted students.

The names below are imported on first use (PEP 562): `fupin plan --help` and `fupin plan compare`
should not wait for pandas and PuLP.
"""

import importlib

_EXPORTS = {
    "compare_runs": ".compare",
    "TargetedStudentModel": ".graduates", "allocate_targeted_students": ".graduates",
    "Scenario": ".inputs",
    "SolveResult": ".solve",
    "SolveStatus": ".status",
    "SpecialPostModel": ".teachers", "allocate_special_posts": ".teachers",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

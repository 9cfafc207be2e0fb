"""Domain errors. The CLI turns every one of these into a message and a non-zero exit."""

from __future__ import annotations

from dataclasses import dataclass


class FupinError(Exception):
    """A problem the user can fix; the message says what and how."""


@dataclass(frozen=True)
class RowProblem:
    """One bad cell or row of an input file."""

    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = [f"row {self.row}"] if self.row is not None else []
        where += [f"column {self.column}"] if self.column else []
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


class InputFileError(FupinError):
    """A file had bad rows; nothing from it was written."""

    def __init__(self, path: str, problems: list[RowProblem]):
        self.path = path
        self.problems = problems
        lines = [f"{path}: {len(problems)} problem(s), nothing was written:"]
        lines += [f"  {p}" for p in problems]
        super().__init__("\n".join(lines))

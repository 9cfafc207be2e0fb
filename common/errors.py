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
    """A file had bad rows; nothing from it was written. `problems` lists them, or the first of them
    when `more` were left out of the listing."""

    def __init__(self, path: str, problems: list[RowProblem], more: int = 0):
        self.path = path
        self.problems = problems
        self.more = more
        lines = [f"{path}: {len(problems) + more:,} problem(s), nothing was written:"]
        lines += [f"  {p}" for p in problems]
        if more:
            lines.append(f"  ... and {more:,} more problem(s) not listed; correct these and import again to see them")
        super().__init__("\n".join(lines))

    def __reduce__(self):
        # As made, not from its message: raised again in the process that imported the file.
        return type(self), (self.path, self.problems, self.more)


class ProblemList:
    """Problems in the order found, the first `limit` of them kept: a file of a million bad rows
    lists the first ones and counts the rest, instead of holding a million messages."""

    def __init__(self, limit: int | None = None):
        self.limit = limit
        self.listed: list[RowProblem] = []
        self.total = 0

    def add(self, problem: RowProblem) -> None:
        self.total += 1
        if self.limit is None or len(self.listed) < self.limit:
            self.listed.append(problem)

    def extend(self, problems: list[RowProblem]) -> None:
        for problem in problems:
            self.add(problem)

    @property
    def more(self) -> int:
        return self.total - len(self.listed)

    def __bool__(self) -> bool:
        return self.total > 0

    def __len__(self) -> int:
        return self.total

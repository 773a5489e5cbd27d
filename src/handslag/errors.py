"""Validation problems reported per file, row, column and reason.

Every importer collects :class:`Problem` objects before writing anything and raises
:class:`ValidationFailed` when there is at least one; adapters print the first 50 and a count
(CLI) or return them as JSON (API). Row numbers are 1-based data rows as a user sees them in a
spreadsheet: the header is row 1, so the first data row is row 2.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    reason: str
    sheet: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet:
            where.append(f"sheet {self.sheet}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.reason}"

    def as_dict(self) -> dict:
        return asdict(self)


class HandslagError(Exception):
    """Base class for errors with a message meant for the user."""


class ValidationFailed(HandslagError):
    """Input was rejected; nothing was written."""

    def __init__(self, problems: list[Problem], *, what: str = "input") -> None:
        self.problems = list(problems)
        self.what = what
        super().__init__(self.summary())

    def summary(self) -> str:
        n = len(self.problems)
        return f"{self.what} rejected: {n} problem{'s' if n != 1 else ''}; nothing was written"

    def format(self, limit: int = 50) -> str:
        lines = [self.summary()]
        lines += [f"  {p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  … and {len(self.problems) - limit} more problems")
        return "\n".join(lines)


class NotFound(HandslagError):
    """A requested entity does not exist."""


class Conflict(HandslagError):
    """A write was based on a stale version."""

"""User-facing errors: every problem with input names its file, row, column and what was expected.

Bugs raise ordinary exceptions; problems with a user's data or params raise :class:`InputError`
(one problem) or :class:`InputErrors` (several), which the CLI prints as ``FILE:ROW:COLUMN: message``
lines and exits with status 2.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in an input file.

    ``row`` is numbered as a spreadsheet shows it (header = row 1); ``None`` when the problem is
    about the whole file. ``column`` is the column name (or params key); ``None`` for whole rows.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        row = "" if self.row is None else str(self.row)
        column = "" if self.column is None else str(self.column)
        prefix = "warning: " if self.severity == "warning" else ""
        return _one_line(f"{self.file}:{row}:{column}: {prefix}{self.message}")


def _one_line(text: str) -> str:
    """Keep a problem on one line: a cell's line breaks are shown as ``\\n`` (one problem, one line)."""
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


class InputError(Exception):
    """A problem (or several) with a user's input; carries :class:`Problem` records."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def argument_error(argument: str, message: str) -> InputError:
    """An :class:`InputError` about a function argument (no file): shown as ``<argument>::ARG: message``."""
    return InputError(Problem(file="<argument>", row=None, column=argument, message=message))

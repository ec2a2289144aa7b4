"""The one error type of the import: bad input found before anything is written."""

from __future__ import annotations

from pathlib import Path

__all__ = ['DataImportError', 'import_error']


class DataImportError(ValueError):
    """A file or folder cannot be imported; the message names the file, the problem and the fix."""


def import_error(where: str | Path, problem: str, fix: str) -> DataImportError:
    """Build a :class:`DataImportError` with the message ``'<where>: <problem>. Fix: <fix>'``.

    Args:
        where (str | Path): The file or folder at fault.
        problem (str): What is wrong with it (no trailing period).
        fix (str): What the user can do about it.

    Returns:
        DataImportError: The error, to be raised by the caller.
    """
    return DataImportError(f'{where}: {problem}. Fix: {fix}')

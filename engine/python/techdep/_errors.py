"""The engine's error types (include/techdep/core/error.hpp), one Python class each; the
extension raises them (engine/python/bindings.cpp)."""

from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping


class Error(Exception):
    """Base of every error techdep raises on purpose."""


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """One problem in a scenario: where it is and what was expected."""

    file: str
    line: int      # 1-based; 0 for the whole file
    column: int
    key_path: str  # e.g. events[3].sectors[1]
    kind: str      # stable machine name, e.g. unknown-key
    message: str
    source_line: str
    text: str      # as the CLI prints it: file:line:col: error: message, the line and a caret

    def __str__(self) -> str:
        return self.text


class ScenarioError(Error, ValueError):
    """A scenario (or --set override) that fails validation; `.diagnostics` lists every problem."""

    def __init__(self, message: str, diagnostics: Iterable[Mapping] = ()):
        super().__init__(message)
        self.diagnostics = [Diagnostic(**entry) for entry in diagnostics]


class IoError(Error, OSError):
    """An input cannot be read or an output cannot be written (or exists already)."""


class UsageError(Error, ValueError):
    """A request the engine cannot serve: an unknown metric or country, a bad combination."""


class NumericalError(Error, ArithmeticError):
    """The model reached an invalid state (a broken invariant, a non-finite value)."""

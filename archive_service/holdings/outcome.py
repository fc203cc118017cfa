"""What one pass over a ledger found: every problem by sheet, row and column (blocking, or a note), the
enterprises nobody registered, the rooms and units the ledger names that are not set up yet, and the counts
the page shows; recorded on the import for the page and the rejected-rows download.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from archive_service.holdings.models import HoldingsImport, HoldingsProblem


@dataclass
class NewUnit:
    """A unit the ledger names that is not set up yet: as large as the places the ledger puts in it."""

    room: str
    unit: str
    columns: int = 0
    sections: int = 0
    layers: int = 0
    sides: int = 1
    rows: int = 0
    per_layer: dict[tuple[int, int, int, int], int] = field(default_factory=dict)


@dataclass
class Outcome:
    """What one pass over the ledger found."""

    rows: int = 0
    bad: set[tuple[str, int]] = field(default_factory=set)  # (sheet, row) of rows with a blocking problem
    problems: list[tuple[str, int, str, str, str, bool]] = field(default_factory=list)
    unknown_enterprises: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing_rooms: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_units: dict[tuple[str, str], NewUnit] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def problem(self, sheet: str, row: int, column: str, code: str, message: str, blocking: bool = True) -> None:
        self.problems.append((sheet, row, column, code, message, blocking))
        if blocking:
            self.bad.add((sheet, row))

    def summary(self) -> dict[str, Any]:
        blocking = sum(1 for p in self.problems if p[5])
        return {
            "rows": self.rows,
            "good": self.rows - len(self.bad),
            "rejected": len(self.bad),
            "problems": blocking,
            "notes": len(self.problems) - blocking,
            "unknown_enterprises": self.unknown_enterprises,
            "missing_rooms": self.missing_rooms,
            "new_units": [
                {
                    "room": u.room,
                    "unit": u.unit,
                    "columns": u.columns,
                    "sections": u.sections,
                    "layers": u.layers,
                    "sides": u.sides,
                    "rows": u.rows,
                    "most_in_a_layer": max(u.per_layer.values(), default=0),
                }
                for u in self.new_units.values()
            ],  # fmt: skip
            **dict(self.counts),
        }


def record_problems(session: Session, imported: HoldingsImport, outcome: Outcome) -> None:
    """The pass's problems on the import in the ledger's order (sheet, then row), in place of the last pass's."""
    session.execute(delete(HoldingsProblem).where(HoldingsProblem.import_id == imported.id))
    order = {s["name"]: i for i, s in enumerate(imported.sheets)}
    rows = sorted(outcome.problems, key=lambda p: (order.get(p[0], 0), p[1]))
    for start in range(0, len(rows), 5000):
        session.execute(
            insert(HoldingsProblem),
            [
                {
                    "import_id": imported.id,
                    "sheet": s,
                    "row": r,
                    "column": c,
                    "code": code[:60],
                    "message": m,
                    "blocking": b,
                }
                for s, r, c, code, m, b in rows[start : start + 5000]
            ],  # fmt: skip
        )

"""What the person chose for one ledger before it is saved: renumber or keep the old 档号, which enterprise an
unknown name is (an existing one, or one to create), whether to set up the shelving the ledger names and how
large. Kept on the import as JSON (`HoldingsImport.decisions`); the pass over the ledger (checking.py) reads
its rows with them.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from archive_service.holdings.models import HoldingsImport


@dataclass
class NewEnterprise:
    credit_code: str
    region_code: str
    level: str = "district"


@dataclass
class Decisions:
    """What the person chose for one ledger."""

    renumber: bool = False  # number every file anew in the bureau's series, the old 档号 kept as 原档号
    enterprises: dict[str, int] = field(default_factory=dict)  # a ledger's enterprise name → an existing one
    new_enterprises: dict[str, NewEnterprise] = field(default_factory=dict)  # … → one to create
    create_shelving: bool = False  # set up the rooms and units the ledger names that do not exist yet
    layer_capacity: int | None = None  # volumes per layer of the units set up (None: the bureau's box profile)
    room_areas: dict[str, Decimal] = field(default_factory=dict)  # usable m² of each room to set up

    @classmethod
    def of(cls, imported: HoldingsImport) -> "Decisions":
        d = dict(imported.decisions or {})
        return cls(
            renumber=bool(d.get("renumber")),
            enterprises={k: int(v) for k, v in d.get("enterprises", {}).items()},
            new_enterprises={k: NewEnterprise(**v) for k, v in d.get("new_enterprises", {}).items()},
            create_shelving=bool(d.get("create_shelving")),
            layer_capacity=d.get("layer_capacity"),
            room_areas={k: Decimal(str(v)) for k, v in d.get("room_areas", {}).items()},
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "renumber": self.renumber,
            "enterprises": self.enterprises,
            "new_enterprises": {k: vars(v) for k, v in self.new_enterprises.items()},
            "create_shelving": self.create_shelving,
            "layer_capacity": self.layer_capacity,
            "room_areas": {k: str(v) for k, v in self.room_areas.items()},
        }

"""Shelving at intake scale: one call shelving 10,000 received files, the occupancy map of a store of
20 compact-shelving units (5,760 layers, ~150,000 places) and a 10-year forecast, on SQLite and PostgreSQL.

    .venv/bin/python bench/shelving.py [--files 10000]
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch_pg import scratch_database  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from archive_service import db  # noqa: E402
from archive_service.auth.models import Role  # noqa: E402
from archive_service.auth.service import create_user  # noqa: E402
from archive_service.config import get_settings  # noqa: E402
from archive_service.dossiers.models import CustodyEvent, Dossier, DossierStatus, Retiree  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel  # noqa: E402
from archive_service.shelving import forecast, layout, occupancy, placement  # noqa: E402
from archive_service.shelving.models import RoomKind  # noqa: E402
from archive_service.startup import start  # noqa: E402

start()  # as every process does: models known, session hooks installed


def prepare(url: str, files: int):
    os.environ["ARCHIVE_DATABASE_URL"] = url
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    upgrade(db.get_engine())
    with db.transaction() as s:
        bureau = Organisation(
            name="测试区档案馆",
            kind=OrganisationKind.bureau,
            credit_code="11110102MB0000001X"[:18],
            region_code="110102",
            level=OrganisationLevel.district,
            fonds_code="J900",
        )
        s.add(bureau)
        enterprises = [
            Organisation(
                name=f"企业{i}",
                kind=OrganisationKind.enterprise,
                credit_code=f"9111000000000{i:04d}X"[:18],
                region_code="110102",
                level=OrganisationLevel.district,
            )
            for i in range(20)
        ]
        s.add_all(enterprises)
        s.flush()
        archivist = create_user(
            s,
            username="a",
            display_name="a",
            password="Bench-pass-2026",
            role=Role.archivist,
            organisation_id=bureau.id,
        )
        room = layout.add_room(s, archivist, layout.RoomForm("大库房", RoomKind.store, Decimal(1200)))
        box = layout.add_profile(s, archivist, "30 mm", 30)
        for u in range(20):
            layout.add_unit(s, archivist, room.id, layout.UnitForm(f"U{u:02d}", 12, 2, 6, 2, profile_id=box.id))
        s.execute(
            insert(Retiree),
            [
                dict(
                    name=f"退休{i}",
                    sex="M",
                    citizen_id=f"{i:017d}X",
                    birth_date=date(1960, 1, 1),
                    enterprise_id=enterprises[i % 20].id,
                    hukou_region_code="110102",
                    residence_region_code="110102",
                )
                for i in range(files)
            ],
        )
        ids = s.scalars(select(Retiree.id).order_by(Retiree.id)).all()
        s.execute(
            insert(Dossier).returning(Dossier.id),
            [
                dict(
                    archival_code=f"J900-RS-{n + 1:06d}",
                    retiree_id=rid,
                    custodian_id=bureau.id,
                    status=DossierStatus.in_custody,
                    volumes=1,
                    class_scheme="enterprise-1992",
                )
                for n, rid in enumerate(ids)
            ],
        )
        return archivist.id


def run(url: str, label: str, files: int) -> list[tuple[str, str, str]]:
    from archive_service.auth.models import User

    user_id = prepare(url, files)
    rows = []
    with db.transaction() as s:
        archivist = s.get(User, user_id)
        t = time.perf_counter()
        placed = placement.auto_assign(s, archivist)
        rows.append((label, f"auto-assign {len(placed):,} files (one transaction)", f"{time.perf_counter() - t:.2f} s"))
    with db.transaction() as s:
        archivist = s.get(User, user_id)
        assert s.scalar(select(func.count()).where(Dossier.shelf_slot_id.is_(None))) == 0
        assert s.scalar(select(func.count()).select_from(CustodyEvent)) == files
        t = time.perf_counter()
        use = occupancy.occupancy(s, archivist)
        layers = sum(len(u.layers) for r in use for u in r.units)
        rows.append(
            (
                label,
                f"occupancy of {layers:,} layers ({use[0].capacity:,} places)",
                f"{(time.perf_counter() - t) * 1000:.0f} ms",
            )
        )
        t = time.perf_counter()
        forecast.run_forecast(s, archivist, forecast.ForecastParams(years=10, start_year=2027))
        rows.append((label, "10-year forecast from the records", f"{(time.perf_counter() - t) * 1000:.0f} ms"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ARCHIVE_VAR_DIR"] = tmp
        rows += run(f"sqlite:///{tmp}/bench.db", "SQLite", args.files)
        with scratch_database("bench_shelving") as pg_url:
            rows += run(pg_url, "PostgreSQL", args.files)
    print(f"shelving — {platform.node()}, {os.cpu_count()} cores, {date.today()}")
    print(f"{'database':<11} {'what':<58} {'time':>9}")
    for db_name, what, figure in rows:
        print(f"{db_name:<11} {what:<58} {figure:>9}")


if __name__ == "__main__":
    main()

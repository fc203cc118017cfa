"""Personal information at rest (issue 40.5): what encrypting citizen IDs costs. Per value: sealing (cipher + keyed
digests) and opening, AES-256-GCM and SM4-GCM, HMAC-SHA-256 and HMAC-SM3. At holdings scale, on SQLite and
PostgreSQL: 100,000 retirees written by one Core insert (as the ledger import writes them) with the IDs encrypted,
against the same rows with the IDs in plain text; then an exact lookup by ID (the digest's index) and a search by
the last 4 and 6 digits.

    .venv/bin/python bench/personal_data.py [--rows 100000]
"""

import argparse
import base64
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch_pg import scratch_database  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from archive_service import config, db, protection  # noqa: E402
from archive_service.demo import citizen_id  # noqa: E402
from archive_service.dossiers.models import Retiree  # noqa: E402
from archive_service.dossiers.service import retirees_with_id_ending  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel  # noqa: E402
from archive_service.startup import start  # noqa: E402

start()


def ids(n: int) -> list[str]:
    """n distinct valid IDs: 10,000 birth days from 1940, then the next sequence number."""
    first = date(1940, 1, 1).toordinal()
    return [
        citizen_id("110102", date.fromordinal(first + i % 10_000), i // 10_000, "M" if i % 2 else "F") for i in range(n)
    ]


def per_value(values: list[str]) -> list[tuple[str, str]]:
    rows = []
    # A throwaway key for the per-value figures; each installation below makes its own key file.
    os.environ["ARCHIVE_DATA_KEY"] = base64.b64encode(os.urandom(32)).decode()
    for cipher in ("aes-256-gcm", "sm4-gcm"):
        for digest in ("hmac-sha256", "hmac-sm3"):
            os.environ.update(ARCHIVE_DATA_CIPHER=cipher, ARCHIVE_DATA_DIGEST=digest)
            config.get_settings.cache_clear()
            protection.keyring.cache_clear()
            sample = values[:20_000]
            started = time.perf_counter()
            sealed = [protection.seal(v, searchable=True, tail=True) for v in sample]
            seal_us = (time.perf_counter() - started) / len(sample) * 1e6
            started = time.perf_counter()
            for s in sealed:
                protection.unseal(s)
            open_us = (time.perf_counter() - started) / len(sample) * 1e6
            rows.append((f"{cipher} + {digest}", f"seal {seal_us:.1f} µs, open {open_us:.1f} µs"))
    os.environ.update(ARCHIVE_DATA_CIPHER="aes-256-gcm", ARCHIVE_DATA_DIGEST="hmac-sha256")
    config.get_settings.cache_clear()
    return rows


def at_scale(url: str, values: list[str]) -> list[tuple[str, str]]:
    os.environ["ARCHIVE_DATABASE_URL"] = url
    for cached in (config.get_settings, db.get_engine, db.get_sessionmaker, protection.keyring):
        cached.cache_clear()
    engine = db.get_engine()
    upgrade(engine)
    with Session(engine) as s, s.begin():
        org = Organisation(name="某厂", kind=OrganisationKind.enterprise, credit_code="911101020000000001",
                           region_code="110102", level=OrganisationLevel.district)  # fmt: skip
        s.add(org)
        s.flush()
        org_id = org.id
    row = {"name": "某", "sex": "M", "birth_date": date(1950, 1, 1), "enterprise_id": org_id,
           "hukou_region_code": "110102", "residence_region_code": "110102"}  # fmt: skip
    with engine.begin() as conn:  # the same rows with plain IDs, in a scratch table of the same shape
        conn.execute(text("CREATE TABLE plain_retiree AS SELECT * FROM retiree WHERE 1 = 0"))
        conn.execute(text("CREATE UNIQUE INDEX uq_plain ON plain_retiree (citizen_id)"))
        started = time.perf_counter()
        conn.execute(
            text(
                "INSERT INTO plain_retiree (id, name, sex, citizen_id, birth_date, enterprise_id, hukou_region_code, "
                "residence_region_code, party_member, leader_cadre, secrecy) VALUES (:id, :name, :sex, :cid, "
                ":birth_date, :enterprise_id, :h, :r, false, false, 'none')"
            ),
            [{**row, "id": i + 1, "cid": v, "h": "110102", "r": "110102"} for i, v in enumerate(values)],
        )
        plain = time.perf_counter() - started
    with engine.begin() as conn:
        started = time.perf_counter()
        conn.execute(
            insert(Retiree),
            [{**row, "citizen_id": v, "party_member": False, "leader_cadre": False, "secrecy": "none"}
             for v in values],
        )  # fmt: skip
        sealed = time.perf_counter() - started
    probes = values[:: max(1, len(values) // 200)][:200]
    with Session(engine) as s:
        lookups = []
        for v in probes:
            started = time.perf_counter()
            assert s.scalar(select(Retiree.id).where(Retiree.citizen_id == v)) is not None
            lookups.append(time.perf_counter() - started)
        tails = {}
        for n in (4, 6):
            times = []
            for v in probes[:50]:
                started = time.perf_counter()
                assert retirees_with_id_ending(s, v[-n:])
                times.append(time.perf_counter() - started)
            tails[n] = statistics.median(times)
    name = url.split(":")[0].split("+")[0]
    n = len(values)
    return [
        (f"{name}: insert {n:,} rows, IDs plain", f"{plain:.2f} s"),
        (f"{name}: insert {n:,} rows, IDs encrypted", f"{sealed:.2f} s (+{(sealed - plain) / n * 1e6:.0f} µs a row)"),
        (f"{name}: exact lookup by ID (median of 200)", f"{statistics.median(lookups) * 1000:.2f} ms"),
        (f"{name}: by the last 4 digits (median)", f"{tails[4] * 1000:.2f} ms"),
        (f"{name}: by the last 6 digits (median)", f"{tails[6] * 1000:.2f} ms"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    values = ids(args.rows)
    results = per_value(values)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ARCHIVE_VAR_DIR"] = tmp
        os.environ.pop("ARCHIVE_DATA_KEY", None)
        results += at_scale(f"sqlite:///{tmp}/bench.db", values)
        with scratch_database("bench_personal") as pg_url:
            results += at_scale(pg_url, values)
    print(f"personal data at rest, {len(values):,} IDs — {platform.node()}, {os.cpu_count()} cores, {date.today()}")
    for what, figure in results:
        print(f"{what:<52} {figure}")


if __name__ == "__main__":
    main()

"""The store rooms' climate log: temperature and humidity readings, typed or imported, and the alerts
when they leave the limits for paper records (14–24 °C, 45–60 % RH)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_zone
from archive_service.errors import ArchiveError
from archive_service.shelving.layout import check_range, get_room
from archive_service.shelving.models import (
    EnvironmentReading,
    Room,
    RoomKind,
)
from archive_service.workbooks import csv_rows

# ---- the climate log --------------------------------------------------------------------------


def record_reading(
    session: Session, user: User, room_id: int, at: datetime, temperature_c: Decimal, humidity_pct: Decimal
) -> EnvironmentReading:
    require(user, Action.record_environment)
    room = get_room(session, user, room_id)
    at = _check_reading(at, temperature_c, humidity_pct, "")
    reading = EnvironmentReading(
        room_id=room.id, at=at, temperature_c=temperature_c, humidity_pct=humidity_pct, recorded_by_id=user.id
    )
    session.add(reading)
    session.flush()
    return reading


def _check_reading(at: datetime, temperature_c: Decimal, humidity_pct: Decimal, where: str) -> datetime:
    # Loggers and people in the store write local time; a reading without an offset is Beijing time.
    at = (at if at.tzinfo else at.replace(tzinfo=bureau_zone())).astimezone(UTC)
    if at > datetime.now(UTC) + timedelta(minutes=5):
        raise ArchiveError(
            "at.future", f"{where}读数时间 {at.astimezone(bureau_zone()):%Y-%m-%d %H:%M} 晚于当前时间", "at", 422
        )
    check_range(temperature_c, Decimal(-30), Decimal(60), "temperature_c", f"{where}温度（°C）")
    check_range(humidity_pct, Decimal(0), Decimal(100), "humidity_pct", f"{where}相对湿度（%）")
    return at


READING_HEADERS = ("时间", "温度", "湿度")


def import_readings(session: Session, user: User, room_id: int, data: bytes) -> int:
    """A logger's CSV export (时间, 温度, 湿度); all rows or none."""
    require(user, Action.record_environment)
    room = get_room(session, user, room_id)
    problems, good = [], []
    for line, row in csv_rows(data, READING_HEADERS):
        try:
            at = datetime.fromisoformat(row["时间"].strip().replace("/", "-"))
            temperature, humidity = Decimal(row["温度"].strip()), Decimal(row["湿度"].strip().rstrip("%"))
            at = _check_reading(at, temperature, humidity, f"第 {line} 行")
        except ValueError:
            problems.append(f"第 {line} 行「时间」：应如 2026-11-23 09:00，实为 {row['时间']!r}")
            continue
        except InvalidOperation:
            problems.append(f"第 {line} 行「温度/湿度」：应为数字，实为 {row['温度']!r} / {row['湿度']!r}")
            continue
        except ArchiveError as error:
            problems.append(error.message)
            continue
        good.append(
            EnvironmentReading(
                room_id=room.id, at=at, temperature_c=temperature, humidity_pct=humidity, recorded_by_id=user.id
            )
        )
    if problems:
        raise ArchiveError("file.rows", "；".join(problems[:50]) + (" …" if len(problems) > 50 else ""), "file", 422)
    session.add_all(good)
    session.flush()
    return len(good)


def readings(session: Session, user: User, room_id: int, limit: int = 200) -> Sequence[EnvironmentReading]:
    room = get_room(session, user, room_id)
    return session.scalars(
        select(EnvironmentReading)
        .where(EnvironmentReading.room_id == room.id)
        .order_by(EnvironmentReading.at.desc())
        .limit(limit)
    ).all()


@dataclass(frozen=True)
class ClimateAlert:
    reading: EnvironmentReading
    breaches: list[str]


def climate_alerts(session: Session, bureau_id: int, days: int = 30) -> list[ClimateAlert]:
    """Readings of the bureau's store rooms outside their limits in the last `days` days, newest first."""
    since = datetime.now(UTC) - timedelta(days=days)
    rows = session.scalars(
        select(EnvironmentReading)
        .join(Room)
        .where(Room.organisation_id == bureau_id, Room.kind == RoomKind.store, EnvironmentReading.at >= since)
        .order_by(EnvironmentReading.at.desc())
    )
    alerts = []
    for reading in rows:
        breaches = reading.room.breaches(reading.temperature_c, reading.humidity_pct)
        if breaches:
            alerts.append(ClimateAlert(reading, breaches))
    return alerts

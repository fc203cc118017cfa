"""Transfer statistics: per enterprise and month, files expected (register rows), received, rejected and
digitised — intake batches only, months in the bureau's time zone — and the same as .xlsx."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import as_utc, bureau_zone
from archive_service.dossiers.models import DigitalObject
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation
from archive_service.transfers.models import ItemResult, TransferBatch, TransferItem, TransferKind
from archive_service.workbooks import fit_columns, workbook_bytes


@dataclass
class MonthFigures:
    enterprise: str
    month: str  # YYYY-MM
    expected: int = 0  # register rows of batches registered that month
    received: int = 0  # volumes checked in (incl. with a discrepancy) that month
    rejected: int = 0  # returned to the enterprise that month
    digitised: int = 0  # received files whose first digitised copy was made that month


def statistics(session: Session, user: User, year: int | None = None) -> list[MonthFigures]:
    """Per enterprise and month: files expected, received, rejected and digitised (intake batches only)."""
    require(user, Action.view_holdings)
    if year is not None and not 2000 <= year <= 2100:
        raise ArchiveError("year.range", "年份须在 2000–2100 之间", "year", 422)
    ours = (TransferBatch.to_org_id == user.organisation_id, TransferBatch.kind == TransferKind.intake)
    figures: dict[tuple[str, str], MonthFigures] = {}

    def count(enterprise: str, at: datetime | None, field: str) -> None:
        if at is None:
            return
        local = as_utc(at).astimezone(bureau_zone())  # months are counted in the bureau's local time
        if year is not None and local.year != year:
            return
        key = (enterprise, f"{local:%Y-%m}")
        row = figures.setdefault(key, MonthFigures(*key))
        setattr(row, field, getattr(row, field) + 1)

    items = session.execute(
        select(Organisation.name, TransferBatch.created_at, TransferItem.result, TransferItem.checked_at)
        .select_from(TransferItem)
        .join(TransferBatch, TransferItem.batch_id == TransferBatch.id)
        .join(Organisation, Organisation.id == TransferBatch.from_org_id)
        .where(*ours)
    )
    for enterprise, registered_at, result, checked_at in items:
        count(enterprise, registered_at, "expected")
        if result in (ItemResult.accepted, ItemResult.discrepancy):
            count(enterprise, checked_at, "received")
        elif result is ItemResult.rejected:
            count(enterprise, checked_at, "rejected")
    digitised = session.execute(
        select(Organisation.name, func.min(DigitalObject.created_at))
        .select_from(TransferItem)
        .join(TransferBatch, TransferItem.batch_id == TransferBatch.id)
        .join(Organisation, Organisation.id == TransferBatch.from_org_id)
        .join(DigitalObject, (DigitalObject.dossier_id == TransferItem.dossier_id) & (DigitalObject.role == "use_copy"))
        .where(*ours)
        .group_by(TransferItem.id, Organisation.name)
    )
    for enterprise, first_copy_at in digitised:
        count(enterprise, first_copy_at, "digitised")
    return sorted(figures.values(), key=lambda f: (f.month, f.enterprise))


STATISTICS_HEADERS = ("企业", "月份", "应移交（名册）", "已接收", "退回", "已数字化")


def statistics_xlsx(rows: list[MonthFigures]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "移交接收统计"
    sheet.append(list(STATISTICS_HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append([r.enterprise, r.month, r.expected, r.received, r.rejected, r.digitised])
    sheet.append(
        ["合计", "", *(sum(getattr(r, f) for r in rows) for f in ("expected", "received", "rejected", "digitised"))]
    )
    fit_columns(sheet)
    sheet.freeze_panes = "A2"
    return workbook_bytes(book)

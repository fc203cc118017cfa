"""A file entered twice: two rows of the ledger for one person or one 档号 (both rows named, each in the
other's problem), and a row for a file already held — here, or by another bureau — or on its way in an
open transfer batch.
"""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.db import one_of
from archive_service.dossiers.models import Dossier, Retiree
from archive_service.holdings.ledger_rows import LedgerRow
from archive_service.holdings.outcome import Outcome
from archive_service.protection import digest_of, keyed_digest
from archive_service.transfers.models import OPEN, ItemResult, TransferBatch, TransferItem

Where = tuple[str, int]  # (sheet, row)


class SeenInLedger:
    """The rows a pass has seen so far, by ID, by 档号 and — a row without an ID — by name, sex and birth date."""

    def __init__(self, several_sheets: bool) -> None:
        self.several_sheets = several_sheets  # a duplicate names its sheet too
        self.ids: dict[str, Where] = {}
        self.codes: dict[str, Where] = {}
        self.people: dict[tuple[str, str, date | None], Where] = {}

    def see(self, outcome: Outcome, row: LedgerRow) -> None:
        """A row repeating one seen before: a problem on both."""
        where = (row.sheet, row.row)
        for key, seen, column, what in (
            (row.citizen_id, self.ids, "公民身份号码", "公民身份号码相同"),
            (row.archival_code, self.codes, "档号", "档号相同"),
        ):
            if key is None:
                continue
            if key in seen:
                self._duplicate(outcome, seen[key], where, column, what)
            else:
                seen[key] = where
        if row.citizen_id is None and row.name:
            person = (row.name, row.sex or "", row.birth_date)
            if person in self.people:
                same = "均无公民身份号码，姓名、性别、出生日期相同"
                self._duplicate(outcome, self.people[person], where, "姓名", same)
            else:
                self.people[person] = where

    def _duplicate(self, outcome: Outcome, first: Where, then: Where, column: str, what: str) -> None:
        def name(at: Where) -> str:
            return f"“{at[0]}”第 {at[1]} 行" if self.several_sheets else f"第 {at[1]} 行"

        outcome.problem(then[0], then[1], column, "ledger.duplicate", f"与{name(first)}重复：{what}")
        outcome.problem(first[0], first[1], column, "ledger.duplicate", f"与{name(then)}重复：{what}")


def against_database(session: Session, bureau_id: int, renumber: bool, outcome: Outcome, rows: list[LedgerRow]) -> None:
    """A batch of rows' IDs and codes against the files already held, and those on their way in a batch; with
    `renumber`, a row's 档号 is its 原档号, compared with the bureau's own."""
    ids = [r.citizen_id for r in rows if r.citizen_id]
    held: dict[Any, tuple[str, str, int]] = {}
    moving: dict[Any, str] = {}
    if ids:
        # By the IDs' keyed digests (protection.py), as an `in_` on the column would compare them.
        digests = [keyed_digest(i) for i in ids]
        for citizen_id, code, name, custodian in session.execute(
            select(Retiree.citizen_id, Dossier.archival_code, Retiree.name, Dossier.custodian_id)
            .outerjoin(Dossier, Dossier.retiree_id == Retiree.id)
            .where(one_of(session, digest_of(Retiree.citizen_id), digests))
        ):
            held[citizen_id] = (code, name, custodian)
        moving = dict(
            session.execute(
                select(TransferItem.citizen_id, TransferBatch.number)
                .join(TransferBatch)
                .where(
                    one_of(session, digest_of(TransferItem.citizen_id), digests),
                    TransferBatch.status.in_(OPEN),
                    TransferItem.result == ItemResult.pending,
                )
            ).all()
        )
    codes = [r.archival_code for r in rows if r.archival_code]
    taken: dict[Any, tuple[str, str]] = {}
    former: dict[Any, str] = {}
    if codes:
        column: Any = Dossier.former_archival_code if renumber else Dossier.archival_code
        query = select(column, Dossier.archival_code, Retiree.name).join(Retiree, Dossier.retiree_id == Retiree.id)
        if renumber:  # 原档号 are the bureau's own; 档号 are unique across the installation
            query = query.where(Dossier.custodian_id == bureau_id)
        for code, own_code, name in session.execute(query.where(one_of(session, column, codes))):
            taken[code] = (own_code, name)
        if not renumber:  # the same ledger imported before with renumbering
            former = dict(
                session.execute(
                    select(Dossier.former_archival_code, Dossier.archival_code).where(
                        one_of(session, Dossier.former_archival_code, codes),
                        Dossier.custodian_id == bureau_id,
                    )
                ).all()
            )
    for row in rows:
        if row.citizen_id in held:
            code, name, custodian = held[row.citizen_id]
            message = (
                f"与在馆档案 {code}（{name}）重复：公民身份号码相同"
                if custodian == bureau_id
                else "该公民身份号码已有档案登记（由他馆保管），不能重复登记"
            )
            outcome.problem(row.sheet, row.row, "公民身份号码", "citizen_id.duplicate", message)
        elif row.citizen_id in moving:
            outcome.problem(
                row.sheet, row.row, "公民身份号码", "citizen_id.in_transfer",
                f"该人员的档案在未办结的移交批次 {moving[row.citizen_id]} 中，不能另行登记",
            )  # fmt: skip
        if row.archival_code in taken:
            own_code, name = taken[row.archival_code]
            what = "原档号" if renumber else "档号"
            outcome.problem(
                row.sheet, row.row, "档号", "archival_code.duplicate",
                f"与在馆档案 {own_code}（{name}）重复：{what}相同",
            )  # fmt: skip
        elif row.archival_code in former:
            outcome.problem(
                row.sheet, row.row, "档号", "archival_code.duplicate",
                f"与在馆档案 {former[row.archival_code]} 重复：该档案的原档号即 {row.archival_code}",
            )  # fmt: skip

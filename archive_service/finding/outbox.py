"""Every change to what a dossier's search document holds queues the dossier, in the same transaction.

One listener on every ORM session, after each flush: whatever changed a dossier, its retiree, its
catalogue, its page texts, a confirmed fact or an enterprise's name, the affected dossiers get an outbox row that
commits — or rolls back — with the change itself. A second one sees rows written by a statement instead of
as objects (a batch's first catalogues go in as one insert). So the index can lag but never miss a change,
and no code path has to remember to "also update the index".
"""

from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

from archive_service.db import insert_many
from archive_service.dossiers.models import Dossier, FactConfirmation, Material, PageText, Retiree
from archive_service.finding.models import SearchOutbox
from archive_service.organisations.models import Organisation


def _affected(session: Session) -> set[int]:
    ids: set[int] = set()
    retirees: set[int] = set()
    enterprises: set[int] = set()
    changed = [o for o in session.dirty if session.is_modified(o)]
    for obj in (*session.new, *changed, *session.deleted):
        if isinstance(obj, Dossier):
            ids.add(obj.id)
        elif isinstance(obj, Material | PageText | FactConfirmation):
            ids.add(obj.dossier_id)
        elif isinstance(obj, Retiree) and obj not in session.new:
            retirees.add(obj.id)
        elif isinstance(obj, Organisation) and inspect(obj).attrs.name.history.has_changes():
            enterprises.add(obj.id)
    # Plain connection queries: the session is mid-flush and must not autoflush again.
    connection = session.connection()
    if retirees:
        ids.update(connection.scalars(select(Dossier.id).where(Dossier.retiree_id.in_(retirees))))
    if enterprises:
        held = select(Dossier.id).join(Retiree, Dossier.retiree_id == Retiree.id)
        ids.update(connection.scalars(held.where(Retiree.enterprise_id.in_(enterprises))))
    return ids


def install() -> None:
    """Start-up: the listeners on every session (once, however often start-up runs)."""
    if not event.contains(Session, "after_flush", _queue):
        event.listen(Session, "after_flush", _queue)
    if not event.contains(Session, "do_orm_execute", _queue_statement):
        event.listen(Session, "do_orm_execute", _queue_statement)


# Tables whose rows belong to one dossier's search document, by their dossier_id.
_BY_DOSSIER = {Material.__table__, PageText.__table__, FactConfirmation.__table__}
_DOSSIERS = {Dossier.__table__}  # a set: an ORM statement's table is an annotated copy, equal but not the same


def _queue_statement(state: ORMExecuteState) -> Any:
    """An insert, update or delete statement on a dossier's catalogue, page texts or facts (no ORM objects,
    so after_flush never sees it) queues the dossiers it writes: an insert's by its rows, the others' by
    what their condition selects, read before the statement runs. Dossiers inserted by a statement (the
    holdings import's thousands at a time) are queued by the ids the insert returns."""
    statement: Any = state.statement  # an Insert, Update or Delete once the checks below pass
    if state.is_insert and statement.table in _DOSSIERS:
        return _queue_inserted_dossiers(state)
    if not (state.is_insert or state.is_update or state.is_delete) or statement.table not in _BY_DOSSIER:
        return
    connection = state.session.connection()
    if state.is_insert:
        rows: list[Any] = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
        ids = {r["dossier_id"] for r in rows if r.get("dossier_id") is not None}
    else:
        written = select(statement.table.c.dossier_id)
        if statement.whereclause is not None:
            written = written.where(statement.whereclause)
        ids = set(connection.scalars(written))
    if ids:
        connection.execute(insert(SearchOutbox), [{"dossier_id": i} for i in sorted(ids)])


def _queue_inserted_dossiers(state: ORMExecuteState) -> Any:
    result = state.invoke_statement().freeze()
    keys = list(result().keys())
    if "id" not in keys:  # without the new ids the index would never hear of these dossiers
        raise RuntimeError("an INSERT of dossiers by statement must return their ids (… .returning(Dossier.id))")
    at = keys.index("id")
    ids = sorted({row[at] for row in result()})
    if ids:  # thousands at once: the bulk insert (one short statement on PostgreSQL)
        insert_many(state.session.connection(), SearchOutbox.__table__, [{"dossier_id": i} for i in ids])
    return result()


def _queue(session: Session, _context: object) -> None:
    # After the flush new rows have their ids; new/dirty/deleted still list what was flushed.
    ids = _affected(session)
    if ids:
        session.connection().execute(insert(SearchOutbox), [{"dossier_id": i} for i in sorted(ids)])

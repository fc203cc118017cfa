"""Every change to what a dossier's search document holds queues the dossier, in the same transaction.

One listener on every ORM session, after each flush: whatever changed a dossier, its retiree, its
catalogue, its page texts, a confirmed fact or an enterprise's name, the affected dossiers get an outbox row that
commits — or rolls back — with the change itself. So the index can lag but never miss a change,
and no code path has to remember to "also update the index".
"""

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

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
    """Start-up: the listener on every session (once, however often start-up runs)."""
    if not event.contains(Session, "after_flush", _queue):
        event.listen(Session, "after_flush", _queue)


def _queue(session: Session, _context: object) -> None:
    # After the flush new rows have their ids; new/dirty/deleted still list what was flushed.
    ids = _affected(session)
    if ids:
        session.connection().execute(insert(SearchOutbox), [{"dossier_id": i} for i in sorted(ids)])

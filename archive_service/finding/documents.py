"""What the index holds of a dossier: built from the database, and only from it.

The index can therefore always be rebuilt (`archive search reindex`) and checked
(`archive search verify` compares each dossier's document fingerprint with the index's).
"""

from collections.abc import Collection, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from archive_service.dossiers.facts import page_owners, sheet_of, work_start_dates
from archive_service.dossiers.models import Dossier, FactConfirmation, PageText
from digitise.facts import date_spans
from search import DossierDocument, MaterialEntry
from search import PageText as IndexedPage

BATCH = 500


def _pages(dossier: Dossier, texts: list[PageText]) -> tuple[IndexedPage, ...]:
    owner = page_owners(dossier.materials)
    pages = []
    for t in sorted(texts, key=lambda t: t.page):
        holder = owner.get(t.page)
        top = holder.material_class.top_class if holder else 0
        dates = tuple(date_spans(t.text))
        pages.append(IndexedPage(t.page, t.text, holder.sequence if holder else None, top, dates))
    return tuple(pages)


def document(
    dossier: Dossier, texts: list[PageText], confirmed: list[FactConfirmation] | None = None
) -> DossierDocument:
    r = dossier.retiree
    return DossierDocument(
        dossier_id=dossier.id,
        archival_code=dossier.archival_code,
        name=r.name,
        citizen_id=r.citizen_id or "",  # a file held before the system may still wait for its ID
        birth_date=r.birth_date,
        retirement_date=r.retirement_date,
        enterprise_id=r.enterprise_id,
        enterprise_name=r.enterprise.name,
        custodian_id=dossier.custodian_id,
        status=dossier.status.value,
        digitisation=dossier.digitisation.value,
        classified=r.classified,
        materials=tuple(MaterialEntry(m.sequence, m.material_class.top_class, m.title) for m in dossier.materials),
        pages=_pages(dossier, texts),
        work_start_dates=tuple(work_start_dates(sheet_of(dossier, texts, confirmed or []))),
        former_archival_code=dossier.former_archival_code or "",
    )


def documents(session: Session, dossier_ids: Collection[int] | None = None) -> Iterator[DossierDocument]:
    """Documents of the given dossiers (those that still exist), or of every dossier, a batch at a time."""
    query = select(Dossier.id).order_by(Dossier.id)
    ids = list(session.scalars(query)) if dossier_ids is None else sorted(dossier_ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        dossiers = session.scalars(
            select(Dossier)
            .where(Dossier.id.in_(chunk))
            .options(selectinload(Dossier.materials))
            .order_by(Dossier.id)
            .execution_options(populate_existing=True)
        ).all()
        texts: dict[int, list[PageText]] = {}
        for t in session.scalars(select(PageText).where(PageText.dossier_id.in_(chunk))):
            texts.setdefault(t.dossier_id, []).append(t)
        confirmed: dict[int, list[FactConfirmation]] = {}
        confirmations = select(FactConfirmation).where(FactConfirmation.dossier_id.in_(chunk))
        for c in session.scalars(confirmations.order_by(FactConfirmation.at, FactConfirmation.id)):
            confirmed.setdefault(c.dossier_id, []).append(c)
        for d in dossiers:
            yield document(d, texts.get(d.id, []), confirmed.get(d.id))
        session.expunge_all()  # a reindex of 100,000 dossiers must not keep them all in the session

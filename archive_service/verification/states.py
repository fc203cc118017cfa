"""Each fact value's state of checking (机器识别 / 已校对 / 已复核), for the fact sheet, the 核查表 and the
requester's view: read from the current copy's sidecar and the corrections layer."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.adapters import object_store
from archive_service.digitisation.service import latest_sidecar
from archive_service.dossiers.models import Dossier
from archive_service.verification.layer import STATE_LABELS, readings_of
from archive_service.verification.models import ReadingCheck

ValueStates = dict[tuple[int, str, str], str]  # (page, fact, value as it stands) → machine | proofread | reviewed


def value_states(session: Session, dossier: Dossier) -> ValueStates:
    card = latest_sidecar(session, object_store(), dossier)
    if card is None:
        return {}
    checks = session.scalars(select(ReadingCheck).where(ReadingCheck.dossier_id == dossier.id))
    return {(r.page, r.target, r.value): r.state for r in readings_of(card, checks) if r.target != "line"}


def best_state(states: list[str]) -> str:
    """A value stated on several pages is as well checked as its best-checked statement."""
    order = list(STATE_LABELS)
    return max(states, key=order.index) if states else "machine"

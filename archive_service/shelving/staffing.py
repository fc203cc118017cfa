"""Archivists needed against archivists the bureau has (晋宁 002 第十二条: 每 1 万卷不少于 1 人; 004 第十七条: 每 3 万卷
不少于 1 人，持证上岗): the volumes held today under the bureau's staffing policy (shelving/planning.py), beside the
active archivist accounts of the bureau — and, where the bureau requires certificates, those holding a valid one
today, since only they count (auth/qualifications.py). Staff bought in (政府购买服务) count once they have an
account. Shown on the 容量规划 page."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.auth.qualifications import CERTIFIED_ROLES, certificates_of
from archive_service.db import bureau_today
from archive_service.dossiers.models import Dossier
from archive_service.organisations.models import Organisation
from archive_service.shelving import forecast, planning
from archive_service.shelving.placement import SHELVED_STATUSES


@dataclass(frozen=True)
class ArchivistStaffing:
    volumes_held: int
    needed: planning.Figure  # under the bureau's policy, naming its clause
    on_staff: int  # active archivist accounts of the bureau
    certified: int | None  # of them, holding a valid certificate today; None where the bureau does not require one

    @property
    def counted(self) -> int:
        return self.on_staff if self.certified is None else self.certified

    @property
    def short(self) -> int:
        return max(0, int(self.needed.value) - self.counted)


def archivist_staffing(session: Session, user: User) -> ArchivistStaffing:
    require(user, Action.plan_capacity)
    bureau = session.get(Organisation, user.organisation_id)
    assert bureau is not None
    volumes = session.scalar(
        select(func.coalesce(func.sum(Dossier.volumes), 0)).where(
            Dossier.custodian_id == bureau.id, Dossier.status.in_(SHELVED_STATUSES)
        )
    )
    archivists = session.scalars(
        select(User.id).where(
            User.organisation_id == bureau.id, User.role.in_(list(CERTIFIED_ROLES)), User.active.is_(True)
        )
    ).all()
    certified = None
    if bureau.requires_certified_staff:
        today = bureau_today()
        held = certificates_of(session, list(archivists))
        certified = sum(1 for a in archivists if any(c.valid_on(today) for c in held.get(a, [])))
    policy = forecast.policy_for(session, bureau.id)
    return ArchivistStaffing(int(volumes or 0), planning.archivists_needed(int(volumes or 0), policy),
                             len(archivists), certified)  # fmt: skip

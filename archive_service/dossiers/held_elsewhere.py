"""Files the bureau answers for that a street or an entrusted custodian keeps (状态 馆外保管): 西人社发〔2020〕14号
七(二) "现存的退休人员人事档案暂由各街道管理，待条件成熟后区级统一管理"; 大政办发〔2017〕49号 第十六条 "委托具有
档案管理资质的单位管理". Such a file is the bureau's (custodian_id), counted in its holdings and found by its search;
Dossier.held_by says who keeps it. It comes in three ways — registered as held by the unit, from an old ledger's
保管单位 column (holdings/), or handed from the bureau's store to a unit — and is taken into the bureau's store
later (收回入馆), each a custody event."""

from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.dossiers.models import CustodyEventKind, Dossier, DossierStatus
from archive_service.dossiers.schemas import DossierIn
from archive_service.dossiers.service import get_dossier, record_custody, register_existing
from archive_service.errors import ArchiveError
from archive_service.organisations import units
from archive_service.organisations.models import BureauUnit
from archive_service.shelving.placement import take_off_shelf


def _keep(session: Session, user: User, dossier: Dossier, unit: BureauUnit, note: str, field: str = "unit_id") -> None:
    units.check_may_keep_files(unit, field)
    slot = take_off_shelf(session, dossier)
    dossier.status, dossier.held_by_id = DossierStatus.held_elsewhere, unit.id
    session.flush()
    said = f"{note}：由{unit.kind.label} {unit.name} 保管（{units.basis_of(unit)}）"
    record_custody(
        session, dossier, CustodyEventKind.held_elsewhere, actor=user,
        from_org_id=dossier.custodian_id, from_slot_id=slot, note=said,
    )  # fmt: skip


def register_held(session: Session, user: User, data: DossierIn, unit_id: int, client: str) -> Dossier:
    """A file a street (or custodian) keeps now, entered as the bureau's: the stock 003 七(二) leaves with the
    streets. Everything register_existing checks, and the unit must be the bureau's and may keep files."""
    require(user, Action.register_dossier)
    unit = units.get_unit(session, user, unit_id, field="held_by_unit_id")
    units.check_may_keep_files(unit, "held_by_unit_id")
    dossier = register_existing(session, user, data)
    _keep(session, user, dossier, unit, "存量档案登记")
    record_access(
        session, user, AccessAction.custody_moved, client, dossier_id=dossier.id,
        detail=f"登记 {dossier.archival_code} 由{unit.kind.label} {unit.name} 保管", with_change=True,
    )  # fmt: skip
    return dossier


def hand_to_unit(session: Session, user: User, dossier_id: int, unit_id: int, client: str) -> Dossier:
    """A file in the bureau's store given to a unit to keep (a custodian the bureau entrusts): off its shelf,
    a custody event. Refused for a file on loan or elsewhere, and for a custodian whose 资质 is not valid today."""
    require(user, Action.manage_shelving)
    dossier = get_dossier(session, user, dossier_id)
    unit = units.get_unit(session, user, unit_id)
    if dossier.status is not DossierStatus.in_custody:
        raise ArchiveError(
            "dossier.status", f"档案当前为“{dossier.status.label}”，只有在馆档案可交由馆外保管", "dossier_id", 409
        )
    _keep(session, user, dossier, unit, "交由馆外保管")
    record_access(
        session, user, AccessAction.custody_moved, client, dossier_id=dossier.id,
        detail=f"{dossier.archival_code} 交由{unit.kind.label} {unit.name} 保管", with_change=True,
    )  # fmt: skip
    return dossier


def take_in(session: Session, user: User, dossier_id: int, client: str) -> Dossier:
    """A file a unit kept brought into the bureau's store (003 七(二): 待条件成熟后区级统一管理): 在馆, to be
    shelved like any file received."""
    require(user, Action.manage_shelving)
    dossier = get_dossier(session, user, dossier_id)
    unit = dossier.held_by
    if dossier.status is not DossierStatus.held_elsewhere or unit is None:
        raise ArchiveError(
            "dossier.status", f"档案当前为“{dossier.status.label}”，不在馆外保管，无需收回", "dossier_id", 409
        )
    dossier.status, dossier.held_by_id = DossierStatus.in_custody, None
    session.flush()
    record_custody(
        session, dossier, CustodyEventKind.taken_in, actor=user, to_org_id=dossier.custodian_id,
        note=f"自{unit.kind.label} {unit.name} 收回入馆（{units.STREETS_BASIS}，待条件成熟后区级统一管理）",
    )  # fmt: skip
    record_access(
        session, user, AccessAction.custody_moved, client, dossier_id=dossier.id,
        detail=f"{dossier.archival_code} 自{unit.kind.label} {unit.name} 收回入馆", with_change=True,
    )  # fmt: skip
    return dossier

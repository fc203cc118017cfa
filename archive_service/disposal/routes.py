"""The API of retention and disposal (002 第八条(七) 处置): rules, files due, 销毁清册 drawn, signed, carried out."""

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access
from archive_service.auth.models import User
from archive_service.deps import CurrentUser, DbSession, Store, client_address, xlsx_download
from archive_service.disposal import service
from archive_service.disposal.models import DisposalList, RetentionState
from archive_service.disposal.schemas import DueOut, EntryOut, ListIn, ListOut, RuleIn, RuleOut, SignatureOut, SignIn
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation

router = APIRouter(prefix="/api/disposal", tags=["disposal"])


def list_out(x: DisposalList) -> ListOut:
    return ListOut(
        id=x.id, number=x.number, status=x.status.value, status_label=x.status.label, reason=x.reason,
        drawn_by=x.drawn_by.display_name, drawn_at=x.drawn_at,
        signatures=[SignatureOut(signed_by=s.signed_by.display_name, signed_at=s.signed_at, opinion=s.opinion)
                    for s in x.signatures],
        carried_out_by=x.carried_out_by.display_name if x.carried_out_by else None, carried_out_at=x.carried_out_at,
        entries=[EntryOut(row_no=e.row_no, dossier_id=e.dossier_id, archival_code=e.archival_code,
                          name=e.retiree_name, state_label=e.state.label, state_on=e.state_on, due_on=e.due_on,
                          volumes=e.volumes, pages=e.pages, shelf_slot=e.shelf_slot,
                          objects_removed=e.objects_removed) for e in x.entries],
    )  # fmt: skip


@router.get("/rules", response_model=list[RuleOut])
def rules(session: DbSession, user: CurrentUser) -> list[RuleOut]:
    """How long the bureau keeps a file after each state; a state without years is never due."""
    kept = service.rules(session, user.organisation_id)
    return [RuleOut(state=s.value, label=s.label, years=kept[s].years if s in kept else None,
                    basis=kept[s].basis if s in kept else "") for s in RetentionState]  # fmt: skip


@router.put("/rules/{state}", response_model=list[RuleOut])
def set_rule(state: str, data: RuleIn, request: Request, session: DbSession, user: CurrentUser) -> list[RuleOut]:
    """The administrator sets the years a file is kept after `state` (null years: no limit)."""
    service.set_rule(session, user, state, data.years, data.basis, client_address(request))
    return rules(session, user)


@router.get("/due", response_model=list[DueOut])
def due(session: DbSession, user: CurrentUser) -> list[DueOut]:
    """Files past the bureau's retention, the longest overdue first."""
    return [
        DueOut(dossier_id=d.dossier.id, archival_code=d.dossier.archival_code, name=d.dossier.retiree.name,
               status=d.dossier.status.label, state=d.state.value, state_label=d.state.label, state_on=d.state_on,
               due_on=d.due_on, on_list=d.on_list, can_be_listed=d.can_be_listed)
        for d in service.due(session, user)
    ]  # fmt: skip


@router.get("/lists", response_model=list[ListOut])
def lists(session: DbSession, user: CurrentUser) -> list[ListOut]:
    return [list_out(x) for x in service.lists(session, user)]


@router.post("/lists", response_model=ListOut, status_code=201)
def draw_up(data: ListIn, request: Request, session: DbSession, user: CurrentUser) -> ListOut:
    """An archivist draws up a 销毁清册 of files due; it waits for two signatures by others."""
    return list_out(service.draw_up(session, user, data.dossier_ids, data.reason, client_address(request)))


@router.get("/lists/{list_id}", response_model=ListOut)
def get_list(list_id: int, session: DbSession, user: CurrentUser) -> ListOut:
    return list_out(service.get_list(session, user, list_id))


@router.post("/lists/{list_id}/signatures", response_model=ListOut)
def sign(list_id: int, data: SignIn, request: Request, session: DbSession, user: CurrentUser) -> ListOut:
    """An approver other than the one who drew the list up signs it; two signatures approve it."""
    return list_out(service.sign(session, user, list_id, data.opinion, client_address(request)))


@router.post("/lists/{list_id}/carry-out", response_model=ListOut)
def carry_out(
    list_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> ListOut:
    """Destroy the files of an approved list: paper off its shelf, digital objects out of the store."""
    return list_out(service.carry_out(session, store, user, list_id, client_address(request)).listing)


def workbook(session: Session, user: User, list_id: int, client: str) -> Response:
    """The list as a workbook, its handing out on the access log (it names people)."""
    listing = service.get_list(session, user, list_id)
    bureau = session.get(Organisation, user.organisation_id)
    if bureau is None:
        raise ArchiveError("organisation.unknown", "所属单位不存在", None, 500)
    record_access(session, user, AccessAction.export, client, detail=f"导出销毁清册 {listing.number}",
                  with_change=True)  # fmt: skip
    return xlsx_download(service.list_xlsx(listing, bureau.name), f"销毁清册-{listing.number}.xlsx")


@router.get("/lists/{list_id}/workbook")
def list_workbook(list_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    return workbook(session, user, list_id, client_address(request))

"""What each role may do: the one table routes, pages and the CLI consult."""

import enum

from archive_service.auth.models import Role, User
from archive_service.errors import Forbidden


class Action(enum.StrEnum):
    view_dossiers = "view_dossiers"
    register_dossier = "register_dossier"
    manage_organisations = "manage_organisations"
    manage_users = "manage_users"
    receive_transfers = "receive_transfers"
    approve_requests = "approve_requests"
    read_audit_log = "read_audit_log"
    record_life_events = "record_life_events"  # a retiree's death, conviction, disappearance, emigration, move
    confirm_facts = "confirm_facts"  # accept a value of a file's 出生日期, 参加工作时间 … on the fact sheet
    edit_catalogue = "edit_catalogue"  # enter and correct a file's 卷内目录 (clerks: while its batch is open)
    digitise = "digitise"  # run the pipeline and store masters and use copies
    read_digital_copy = "read_digital_copy"  # open the use copy in custody work (logged)
    submit_request = "submit_request"  # ask to use a file (审批表)
    serve_requests = "serve_requests"  # certified copies, paper loans at the desk
    manage_shelving = "manage_shelving"  # rooms, shelving units, profiles; shelve and move volumes
    record_environment = "record_environment"  # store-room temperature and humidity readings
    plan_capacity = "plan_capacity"  # projected retirements and the capacity forecast
    set_space_policy = "set_space_policy"  # the bureau's m² / staffing policy figures
    set_jurisdiction = "set_jurisdiction"  # which retirees' files the bureau receives (its policy's rule)
    send_onward = "send_onward"  # send files on to another bureau when a retiree moves (转递)
    view_jobs = "view_jobs"  # background jobs of the bureau: digitisation progress, failures
    run_maintenance = "run_maintenance"  # fixity checks, replication, search-index rebuilds as jobs


GRANTS: dict[Role, frozenset[Action]] = {
    Role.intake_clerk: frozenset(
        {Action.view_dossiers, Action.receive_transfers, Action.record_environment, Action.edit_catalogue}
    ),
    Role.archivist: frozenset(
        {
            Action.view_dossiers,
            Action.register_dossier,
            Action.receive_transfers,
            Action.edit_catalogue,
            Action.confirm_facts,
            Action.record_life_events,
            Action.digitise,
            Action.read_digital_copy,
            Action.serve_requests,
            Action.manage_shelving,
            Action.record_environment,
            Action.plan_capacity,
            Action.send_onward,
            Action.view_jobs,
        }
    ),
    Role.approver: frozenset({Action.view_dossiers, Action.approve_requests}),
    # Requesters reach dossiers only through approved retrieval requests, never by browsing.
    Role.requester: frozenset({Action.submit_request}),
    Role.auditor: frozenset({Action.view_dossiers, Action.read_audit_log}),
    Role.administrator: frozenset(
        {
            Action.view_dossiers,
            Action.manage_organisations,
            Action.manage_users,
            Action.read_audit_log,
            Action.plan_capacity,
            Action.set_space_policy,
            Action.set_jurisdiction,
            Action.view_jobs,
            Action.run_maintenance,
        }
    ),
}


def can(user: User, action: Action) -> bool:
    return action in GRANTS[user.role]


def require(user: User, action: Action) -> None:
    if not can(user, action):
        raise Forbidden()

"""What each role may do: the one table routes, pages and the CLI consult.

三员分立 (GB/T 22239-2019 8.1.4.2, 8.1.10): the system administrator configures the system (organisations,
policies of custody, jobs) but neither manages accounts nor reads files or the log; the security officer
(安全管理员) manages accounts, roles and the security policy; the auditor reads the log of everything both do."""

import enum

from archive_service.auth.models import Role, User
from archive_service.errors import Forbidden


class Action(enum.StrEnum):
    view_dossiers = "view_dossiers"  # the bureau's files themselves: lists, particulars, catalogues, search
    # The holdings in figures — rooms and shelving, space policy, statistics, campaign progress, the paper
    # backlog — without any file's particulars: what the system administrator plans with.
    view_holdings = "view_holdings"
    register_dossier = "register_dossier"
    manage_organisations = "manage_organisations"
    register_enterprises = "register_enterprises"  # 移交单位: register one and correct its particulars at the desk
    manage_users = "manage_users"
    receive_transfers = "receive_transfers"
    approve_requests = "approve_requests"
    waive_certificate = "waive_certificate"  # accept a file marked 缺失 without its certificate (001 第九条(一))
    read_audit_log = "read_audit_log"
    record_life_events = "record_life_events"  # a retiree's death, conviction, disappearance, emigration, move
    proofread = "proofread"  # 校对与复核: check what the OCR read against the page image, confirm another's check
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
    import_holdings = "import_holdings"  # bring the files already held in from the bureau's old ledgers
    # The whole citizen ID on a file's page (the counter and the receiving desk compare it with documents);
    # everyone else sees it masked, as lists, search and the register show it (个人信息保护法 第五十一条).
    see_full_citizen_id = "see_full_citizen_id"
    manage_security = "manage_security"  # the bureau's security policy; others' sessions, password and code resets
    view_security_controls = "view_security_controls"  # the assessor's list of controls and their state
    # 处置 (002 第八条(七)): one person draws up a 销毁清册 and carries it out once two others have signed it.
    dispose_files = "dispose_files"
    sign_disposal = "sign_disposal"


GRANTS: dict[Role, frozenset[Action]] = {
    Role.intake_clerk: frozenset(
        {
            Action.view_dossiers,
            Action.view_holdings,
            Action.receive_transfers,
            Action.register_enterprises,
            Action.record_environment,
            Action.edit_catalogue,
            Action.see_full_citizen_id,
            Action.proofread,
        }
    ),
    Role.archivist: frozenset(
        {
            Action.view_dossiers,
            Action.view_holdings,
            Action.see_full_citizen_id,
            Action.register_dossier,
            Action.receive_transfers,
            Action.register_enterprises,
            Action.edit_catalogue,
            Action.confirm_facts,
            Action.proofread,
            Action.record_life_events,
            Action.digitise,
            Action.read_digital_copy,
            Action.serve_requests,
            Action.manage_shelving,
            Action.record_environment,
            Action.plan_capacity,
            Action.send_onward,
            Action.view_jobs,
            Action.import_holdings,
            Action.dispose_files,
        }
    ),
    Role.approver: frozenset(
        {
            Action.view_dossiers,
            Action.view_holdings,
            Action.approve_requests,
            Action.waive_certificate,
            Action.sign_disposal,
        }
    ),
    # Requesters reach dossiers only through approved retrieval requests, never by browsing.
    Role.requester: frozenset({Action.submit_request}),
    Role.auditor: frozenset(
        {Action.view_dossiers, Action.view_holdings, Action.read_audit_log, Action.view_security_controls}
    ),
    Role.administrator: frozenset(
        {
            Action.view_holdings,
            Action.manage_organisations,
            Action.register_enterprises,
            Action.plan_capacity,
            Action.set_space_policy,
            Action.set_jurisdiction,
            Action.view_jobs,
            Action.run_maintenance,
            Action.import_holdings,
        }
    ),
    Role.security_officer: frozenset({Action.manage_users, Action.manage_security, Action.view_security_controls}),
}


# What each action is called at the counter: a refusal says what was refused and who can do it.
ACTION_LABELS: dict[Action, str] = {
    Action.view_dossiers: "查看馆藏档案",
    Action.register_dossier: "登记档案",
    Action.manage_organisations: "管理单位",
    Action.register_enterprises: "登记移交单位",
    Action.manage_users: "管理账户",
    Action.receive_transfers: "接收移交、登记确认",
    Action.approve_requests: "审批查阅申请",
    Action.waive_certificate: "批准无缺失材料证明接收",
    Action.read_audit_log: "查看访问日志",
    Action.record_life_events: "登记死亡等情况",
    Action.confirm_facts: "采信档案事实",
    Action.proofread: "校对与复核识别文字",
    Action.edit_catalogue: "著录卷内目录",
    Action.digitise: "数字化、验收数字化成果",
    Action.read_digital_copy: "调阅数字副本",
    Action.submit_request: "提交查阅申请",
    Action.serve_requests: "出具复制件、借阅、办结查阅申请",
    Action.manage_shelving: "上架、移架和管理库房",
    Action.record_environment: "记录库房温湿度",
    Action.plan_capacity: "库房容量预测",
    Action.set_space_policy: "设定库房与人员政策",
    Action.set_jurisdiction: "设定接收范围",
    Action.send_onward: "转递档案",
    Action.view_jobs: "查看后台任务",
    Action.run_maintenance: "运行校验、复制和重建索引",
    Action.import_holdings: "导入存量档案台账",
    Action.view_holdings: "查看馆藏统计与库房",
    Action.see_full_citizen_id: "查看完整的公民身份号码",
    Action.manage_security: "设定安全策略、重置密码与验证码、结束会话",
    Action.view_security_controls: "查看安全控制状态",
    Action.dispose_files: "编制销毁清册、执行销毁",
    Action.sign_disposal: "签批销毁清册",
}


def can(user: User, action: Action) -> bool:
    return action in GRANTS[user.role]


def who_can(action: Action) -> str:
    """The roles that may do an action, as a refusal names them: 档案管理员 or 接收登记员、档案管理员."""
    return "、".join(role.label for role, actions in GRANTS.items() if action in actions)


def refusal(user: User, action: Action) -> str:
    """上架、移架和管理库房需档案管理员（当前账户：接收登记员）: who can take the next step, not only "no"."""
    return f"{ACTION_LABELS[action]}需{who_can(action)}（当前账户：{user.role.label}）"


def require(user: User, action: Action) -> None:
    if not can(user, action):
        raise Forbidden(refusal(user, action))

"""The menu bar: each entry, the paths it is lit for, and who sees it — by what the person may do
(auth/permissions.py: an entry shows when the role may do any of its actions), never by role names."""

from dataclasses import dataclass

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, can


@dataclass(frozen=True)
class Entry:
    label: str
    href: str
    shown_for: frozenset[Action]  # any of them; empty: everyone signed in
    lit_on: tuple[str, ...] = ()  # further paths under this entry

    def shown_to(self, user: User) -> bool:
        return not self.shown_for or any(can(user, action) for action in self.shown_for)

    def lit(self, path: str) -> bool:
        if self.href == "/":
            return path == "/"
        return any(path.startswith(prefix) for prefix in (self.href, *self.lit_on))


def _any(*actions: Action) -> frozenset[Action]:
    return frozenset(actions)


A = Action
MENU: tuple[Entry, ...] = (
    Entry("工作台", "/", _any()),
    Entry("档案", "/dossiers", _any(A.view_dossiers), ("/disposal",)),
    # Those who receive, set what is received, or audit it; the approver decides requests only.
    Entry("移交接收", "/transfers", _any(A.receive_transfers, A.set_jurisdiction, A.read_audit_log)),
    Entry("移交单位", "/enterprises", _any(A.register_enterprises)),
    Entry("库房", "/shelving", _any(A.record_environment, A.plan_capacity, A.read_audit_log), ("/planning", "/units")),
    Entry("检索", "/search", _any(A.view_dossiers, A.submit_request)),
    Entry("查阅申请", "/requests", _any(A.view_dossiers, A.submit_request)),
    Entry("借阅台", "/loans", _any(A.serve_requests), ("/reading",)),
    Entry("统计报表", "/reports", _any(A.view_holdings)),
    Entry("存量导入", "/holdings", _any(A.import_holdings)),
    Entry("后台任务", "/jobs", _any(A.view_jobs)),
    Entry("用户", "/users", _any(A.manage_users)),
    Entry("安全控制", "/security", _any(A.view_security_controls)),
    Entry("利用登记", "/audit", _any(A.read_audit_log)),
)


def menu(user: User) -> list[Entry]:
    """The entries this person sees, in the bar's order."""
    return [entry for entry in MENU if entry.shown_to(user)]

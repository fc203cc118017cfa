"""The security officer (三员分立) manages the bureau's accounts on a page (用户管理), not only through the API: create,
change a role, disable, record a training certificate, require certificates — each on the access log."""

import pytest
from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.auth.models import Role, User
from tests.archive_service.test_forms_keep_values import _cookie_login, forms_of


def _account(username: str) -> User | None:
    with db.get_sessionmaker()() as session:
        return session.scalar(select(User).where(User.username == username))


def _logged(action: str) -> list[str]:
    with db.get_sessionmaker()() as session:
        return list(session.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.action == action)))


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_the_security_officer_manages_accounts_on_the_page(client):
    _cookie_login(client, "clerk")
    assert client.get("/users").status_code == 403  # only security officers
    _cookie_login(client, "admin")
    assert client.get("/users").status_code == 403  # not the system administrator either (三员分立)
    _cookie_login(client, "security")
    page = client.get("/users")
    assert page.status_code == 200 and 'href="/users"' in page.text and 'data-user="archivist"' in page.text
    bureau = _account("security").organisation_id
    typed = {"username": "xinlai", "display_name": "新来", "password": "short", "role": "archivist",
             "organisation_id": bureau}  # fmt: skip
    refused = client.post("/users", data=typed, follow_redirects=False)
    assert refused.status_code == 422 and 'data-field="password"' in refused.text and "密码至少" in refused.text
    assert forms_of(refused.text)["/users"]["display_name"] == ["新来"] and _account("xinlai") is None
    made = client.post("/users", data=typed | {"password": "newcomer-pass-2026"}, follow_redirects=True)
    assert made.status_code == 200 and "已创建账户 xinlai" in made.text
    assert _account("xinlai").role is Role.archivist
    new_id = _account("xinlai").id
    # Require certificates: an uncertified account can no longer be made an archivist.
    assert client.post("/users/qualification", data={"required": "yes"}).status_code == 200
    client.post(f"/users/{new_id}", data={"role": "intake_clerk"})
    refused = client.post(f"/users/{new_id}", data={"role": "archivist"}, follow_redirects=False)
    assert refused.status_code in (403, 409, 422) and 'role="alert"' in refused.text
    assert _account("xinlai").role is Role.intake_clerk
    certificate = {"title": "档案管理岗位培训合格证书", "number": "DA-1", "issued_on": "2026-13-01"}
    bad = client.post(f"/users/{new_id}/certificates", data=certificate, follow_redirects=False)
    assert bad.status_code == 422 and 'data-field="issued_on"' in bad.text
    certificate |= {"issued_on": "2026-01-05", "expires_on": "2029-01-04"}
    client.post(f"/users/{new_id}/certificates", data=certificate)
    assert client.post(f"/users/{new_id}", data={"role": "archivist"}).status_code == 200
    assert _account("xinlai").role is Role.archivist
    client.post(f"/users/{new_id}", data={"active": "no"})
    assert _account("xinlai").active is False
    shown = client.get("/users").text
    assert "DA-1" in shown and "已停用" in shown
    created, changed = _logged("account_created"), _logged("account_changed")
    assert any("xinlai" in d for d in created) and sum("xinlai" in d for d in changed) >= 4

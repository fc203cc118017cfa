"""Issue 40, the level-3 controls (GB/T 22239-2019), each set per bureau: two factors, 三员分立, passwords and
sessions, the system's own events on the chained log, personal information encrypted at rest, SM3 as a bureau's
choice, the assessor's list. Every refusal is Chinese, names its field and is on the log."""

import io
import re
from datetime import timedelta

import pyotp
import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from archive_service import db
from archive_service.access.log import verify_chain
from archive_service.access.models import AccessLogEntry
from archive_service.auth.models import SessionToken, User
from archive_service.cli import app as cli
from archive_service.demo import DEMO_PASSWORD, demo_totp_secret
from tests.conftest import cookie_login, demo_login_body

sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def _account(username: str) -> User:
    with db.get_sessionmaker()() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return user


def _logged(action: str) -> list[AccessLogEntry]:
    with db.get_sessionmaker()() as session:
        query = select(AccessLogEntry).where(AccessLogEntry.action == action).order_by(AccessLogEntry.seq)
        return list(session.scalars(query))


def _api_login(client, body):
    return client.post("/api/auth/login", json=body)


@sqlite_only
def test_two_factors_a_code_good_once_recovery_codes_and_a_bureau_without_the_rule(client, demo_code):
    """西城 requires the code of every role; a token only for both; a wrong, missing or replayed code is refused in
    Chinese, naming the field, and logged; 东城 requires none, so its archivist signs in with the password alone."""
    body = {"username": "archivist", "password": DEMO_PASSWORD}
    missing = _api_login(client, body)
    assert missing.status_code == 401 and missing.json()["code"] == "two_factor.code_required"
    assert missing.json()["field"] == "code" and "动态验证码" in missing.json()["message"]
    wrong = _api_login(client, body | {"code": "000000"})
    assert (
        wrong.status_code == 401 and wrong.json()["code"] == "two_factor.invalid" and "错误" in wrong.json()["message"]
    )
    code = demo_code("archivist")
    assert _api_login(client, body | {"code": code}).status_code == 200
    replayed = _api_login(client, body | {"code": code})
    assert replayed.status_code == 401 and replayed.json()["code"] == "two_factor.replayed"
    assert "已经用过" in replayed.json()["message"]
    failures = [e.detail for e in _logged("login_failed")]
    assert any("动态验证码错误" in d for d in failures) and any("已经用过" in d for d in failures), failures
    assert [e.user_id for e in _logged("login")] == [_account("archivist").id]  # the one good login
    assert _api_login(client, {"username": "dongcheng", "password": DEMO_PASSWORD}).status_code == 200

    # Recovery codes: enrolled through the account page, each good once, spending one is logged.
    cookie_login(client, "approver")
    client.post("/account/recovery-codes")
    page = client.post("/account/recovery-codes")  # the first ten are void now
    codes = re.findall(r"<li>([0-9a-f]{5}(?:-[0-9a-f]{5}){3})</li>", page.text)
    assert len(codes) == 10 and "只显示这一次" in page.text
    approver = {"username": "approver", "password": DEMO_PASSWORD}
    assert _api_login(client, approver | {"recovery_code": codes[0]}).status_code == 200
    again = _api_login(client, approver | {"recovery_code": codes[0]})
    assert again.status_code == 401 and again.json()["field"] == "recovery_code"
    assert "还剩 9 个恢复码" in _logged("recovery_code_used")[-1].detail


@sqlite_only
def test_a_new_account_enrols_with_a_qr_code_changes_its_password_and_the_auditor_sees_it_all(client, login):
    """The whole path of a new member of staff: the security officer creates the account; at the first login the
    password is followed by enrolment (QR code, first code), the recovery codes shown once, then the password set
    by someone else must be changed before anything else; a role change and a disabling end the sessions."""
    security = login("security")
    own = client.get("/api/me", headers=security).json()["organisation_id"]
    body = {"username": "xiaoliu", "display_name": "刘新", "password": "Temp-2026-start", "role": "intake_clerk",
            "organisation_id": own}  # fmt: skip
    weak = client.post("/api/users", json=body | {"password": "onlyletters"}, headers=security)
    assert weak.status_code == 422 and weak.json()["code"] == "password.classes" and weak.json()["field"] == "password"
    made = client.post("/api/users", json=body, headers=security)
    assert made.status_code == 201, made.text
    no_token = _api_login(client, {"username": "xiaoliu", "password": "Temp-2026-start"})
    assert no_token.status_code == 403 and no_token.json()["code"] == "two_factor.not_enrolled"

    first = client.post("/login", data={"username": "xiaoliu", "password": "Temp-2026-start"}, follow_redirects=True)
    assert "绑定动态验证码" in first.text and "<svg" in first.text and 'id="secret"' in first.text
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', first.text).group(1).replace(" ", "")
    assert client.get("/").status_code == 200 and "/login" in str(client.get("/").url)  # not signed in yet
    bad = client.post("/login/code", data={"code": "123456"})
    assert bad.status_code == 401 and 'data-field="code"' in bad.text and "动态验证码错误" in bad.text
    done = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert "请保存恢复码" in done.text and len(re.findall(r"<li>[0-9a-f-]{23}</li>", done.text)) == 10
    forced = client.get("/dossiers", follow_redirects=True)
    assert str(forced.url).endswith("/account/password") and "请先修改密码" in forced.text
    same = {
        "current_password": "Temp-2026-start",
        "new_password": "Temp-2026-start",
        "repeat_password": "Temp-2026-start",
    }
    refused = client.post("/account/password", data=same)
    assert refused.status_code == 422 and "新密码不能与当前密码相同" in refused.text
    changed = client.post(
        "/account/password",
        data={"current_password": "Temp-2026-start", "new_password": "Liu-own-2026", "repeat_password": "Liu-own-2026"},
    )  # fmt: skip
    assert changed.status_code == 200 and "/dossiers" not in str(changed.url)
    assert client.get("/dossiers").status_code == 200

    clerk_id = made.json()["id"]
    promoted = client.patch(f"/api/users/{clerk_id}", json={"role": "archivist"}, headers=security)
    assert promoted.status_code == 200
    assert "/login" in str(client.get("/dossiers").url)  # a role change ends the sessions
    client.patch(f"/api/users/{clerk_id}", json={"active": False}, headers=security)
    disabled = _api_login(client, {"username": "xiaoliu", "password": "Liu-own-2026", "code": pyotp.TOTP(secret).now()})
    assert (
        disabled.status_code == 403
        and disabled.json()["code"] == "login.disabled"
        and "停用" in disabled.json()["message"]
    )

    register = client.get("/api/audit/log.xlsx", headers=login("auditor"))
    rows = list(load_workbook(io.BytesIO(register.content)).active.iter_rows(min_row=2, values_only=True))
    seen = {(r[6], r[2]) for r in rows}
    for action in ("创建账户", "变更账户"):
        assert (action, "吴安全") in seen, action
    for action in ("绑定动态验证码", "登录", "修改密码", "登录失败"):
        assert (action, "刘新") in seen, action


@sqlite_only
def test_three_officers_are_separate(client, login):
    """The system administrator configures but neither manages accounts nor reads files or the log; the security
    officer manages accounts but no files and never his own role; the auditor reads the log and changes nothing."""
    admin, security, auditor = login("admin"), login("security"), login("auditor")
    me = client.get("/api/me", headers=admin).json()
    for path in ("/api/dossiers", "/api/audit/log.xlsx", f"/api/users/{me['id']}/certificates"):
        assert client.get(path, headers=admin).status_code == 403, path
    body = {"username": "x2", "display_name": "某", "password": "Abc-12345678", "role": "administrator",
            "organisation_id": me["organisation_id"]}  # fmt: skip
    assert client.post("/api/users", json=body, headers=admin).status_code == 403
    assert client.patch(f"/api/users/{me['id']}", json={"role": "security_officer"}, headers=admin).status_code == 403
    assert client.get("/api/organisations/jurisdiction", headers=admin).status_code == 200  # still configures
    officer = client.get("/api/me", headers=security).json()
    itself = client.patch(f"/api/users/{officer['id']}", json={"role": "auditor"}, headers=security)
    assert itself.status_code == 409 and "不能给自己授权" in itself.json()["message"]
    assert client.get("/api/dossiers", headers=security).status_code == 403
    assert client.post("/api/users", json=body | {"username": "x3"}, headers=auditor).status_code == 403
    assert client.put("/api/security/policy", json={"idle_minutes": 20}, headers=auditor).status_code == 403
    assert client.get("/api/security/controls", headers=auditor).status_code == 200  # reads, for the assessor


@sqlite_only
def test_password_rules_history_reset_and_expiry_follow_the_bureaus_policy(client, login, demo_code):
    security = login("security")
    policy = client.put(
        "/api/security/policy",
        json={"password_min_length": 12, "password_min_classes": 4, "password_history": 2, "password_max_age_days": 30},
        headers=security,
    )
    assert policy.status_code == 200 and policy.json()["password_min_length"] == 12
    out_of_bounds = client.put("/api/security/policy", json={"idle_minutes": 1}, headers=security)
    assert out_of_bounds.status_code == 422 and out_of_bounds.json()["field"] == "idle_minutes"
    assert "5–240" in out_of_bounds.json()["message"]
    logged = _logged("policy_changed")[-1].detail
    assert "密码最短长度：8 位 → 12 位" in logged and "吴安全" not in logged  # the officer is the entry's user

    clerk = login("clerk")
    change = lambda new, current=DEMO_PASSWORD: client.post(  # noqa: E731
        "/api/me/password", json={"current_password": current, "new_password": new}, headers=clerk
    )
    assert change("Short-1a").json()["message"] == "密码至少 12 位"
    assert change("longbutonly-lower1").json()["code"] == "password.classes"
    assert change("Long-Enough-2026", current="wrong").json()["field"] == "current_password"
    assert change("Long-Enough-2026").status_code == 204
    assert change("Another-Pass-2027", current="Long-Enough-2026").status_code == 204
    assert change("Long-Enough-2026", current="Another-Pass-2027").json()["code"] == "password.reused"

    # The security officer resets it: every session ends; the next login must change it before anything else.
    clerk_id = _account("clerk").id
    reset = client.post(f"/api/users/{clerk_id}/password", json={"password": "Temporary-Pass-9"}, headers=security)
    assert reset.status_code == 204
    assert client.get("/api/me", headers=clerk).status_code == 401
    token = _api_login(client, demo_login_body("clerk", demo_code, "Temporary-Pass-9")).json()["token"]
    clerk = {"authorization": f"Bearer {token}"}
    blocked = client.get("/api/dossiers", headers=clerk)
    assert blocked.status_code == 403 and blocked.json()["code"] == "password.change_required"
    assert change("Own-Counter-Pass-26", current="Temporary-Pass-9").status_code == 204
    assert client.get("/api/dossiers", headers=clerk).status_code == 200
    assert "下次登录须修改密码" in _logged("password_reset")[-1].detail

    # Past the policy's 30 days the password must be changed again.
    with db.transaction() as session:
        session.execute(
            update(User).where(User.id == clerk_id).values(password_changed_at=db.utcnow() - timedelta(days=31))
        )
    token = _api_login(client, demo_login_body("clerk", demo_code, "Own-Counter-Pass-26")).json()["token"]
    expired = client.get("/api/dossiers", headers={"authorization": f"Bearer {token}"})
    assert expired.status_code == 403 and expired.json()["code"] == "password.change_required"


@sqlite_only
def test_sessions_time_out_when_idle_or_too_long_and_are_listed_and_ended_by_owner_and_officer(client, login):
    archivist, security = login("archivist"), login("security")
    second = login("archivist", new_session=True)
    mine = client.get("/api/me/sessions", headers=archivist).json()
    assert len(mine) == 2 and {s["via"] for s in mine} == {"api"}
    # The security officer sees them and ends one; its owner ends the other.
    archivist_id = _account("archivist").id
    listed = client.get(f"/api/users/{archivist_id}/sessions", headers=security).json()
    assert [s["id"] for s in listed] == [s["id"] for s in mine]
    assert client.delete(f"/api/users/{archivist_id}/sessions/{mine[0]['id']}", headers=security).status_code == 204
    ended = client.get("/api/me", headers=second)
    assert ended.status_code == 401 and "安全管理员" in ended.json()["message"]
    assert client.get(f"/api/users/{_account('dongcheng').id}/sessions", headers=security).status_code == 404

    # Idle past the bureau's 30 minutes: refused saying so, ended and logged once.
    with db.transaction() as session:
        session.execute(update(SessionToken).values(last_seen_at=db.utcnow() - timedelta(minutes=31)))
    idle = client.get("/api/me", headers=archivist)
    assert idle.status_code == 401 and idle.json()["code"] == "session.idle" and "30 分钟" in idle.json()["message"]
    assert client.get("/api/me", headers=archivist).json()["code"] == "session.ended"
    timeouts = [e.detail for e in _logged("session_ended") if "超时" in e.detail]
    assert len(timeouts) >= 1 and all("30 分钟无操作" in d for d in timeouts)

    # The absolute limit, whatever the activity (another user: the archivist's third login within a minute would
    # wait for the authenticator's next code).
    fresh = login("auditor")
    with db.transaction() as session:
        session.execute(update(SessionToken).values(expires_at=db.utcnow() - timedelta(seconds=1)))
    too_long = client.get("/api/me", headers=fresh)
    assert too_long.status_code == 401 and too_long.json()["code"] == "session.expired"

    # A page says why on the login page, from the code only.
    page = client.get("/login?next=/dossiers&why=session.idle")
    assert "已自动退出" in page.text
    shown = client.get("/login?why=<script>alert(1)</script>").text
    assert "<script>alert" not in shown and "alert(1)" not in shown


@sqlite_only  # SQLite has one writer: the bug was a request holding it while the log appended beside it
def test_a_request_after_a_minutes_quiet_still_logs_what_it_serves(client, login):
    """Noting that a session was seen (once a minute) is committed at once, not held in the request's transaction:
    an export a minute after the last request is logged on the access log's own connection, not 'database is
    locked' after the busy timeout."""
    auditor = login("auditor")
    quiet = db.utcnow() - timedelta(minutes=2)
    with db.transaction() as session:
        session.execute(update(SessionToken).values(last_seen_at=quiet))
    exported = client.get("/api/audit/log.xlsx", headers=auditor)
    assert exported.status_code == 200, exported.text[:300]
    assert any(e.detail.startswith("导出利用登记") for e in _logged("export"))
    with db.get_sessionmaker()() as session:
        seen = [db.as_utc(t) for t in session.scalars(select(SessionToken.last_seen_at)) if t is not None]
    assert max(seen) > quiet + timedelta(minutes=1)  # the touch itself was written


@sqlite_only
def test_the_logs_retention_and_chain_check_are_on_the_log_and_verify(client, login):
    security = login("security")
    short = client.put("/api/security/policy", json={"log_retention_days": 90}, headers=security)
    assert short.status_code == 422 and "不得少于 180 天" in short.json()["message"]
    assert client.put("/api/security/policy", json={"log_retention_days": 365}, headers=security).status_code == 200
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    last_check = _logged("audit_verified")[-1]
    assert last_check.detail.startswith("完好：") and last_check.user_id is None
    controls = {c["name"]: c for c in client.get("/api/security/controls", headers=login("auditor")).json()}
    assert "完好" in controls["审计记录的保护：最近一次哈希链校验"]["state"]
    assert controls["审计记录的内容与保存"]["setting"].endswith("保存期 365 天（不少于 180 天）")


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_sm3_is_a_bureaus_choice_for_the_chain_and_both_verify(client, login, engine):
    security = login("security")
    assert client.put("/api/security/policy", json={"hash_algorithm": "sm3"}, headers=security).status_code == 200
    client.get("/api/me", headers=login("archivist"))  # a login of 西城 after the change: chained with SM3
    with db.get_sessionmaker()() as session:
        algorithms = list(session.scalars(select(AccessLogEntry.algorithm).order_by(AccessLogEntry.seq)))
        assert algorithms[0] == "sha256" and algorithms[-1] == "sm3", algorithms
        assert verify_chain(session).ok
        # Tampered SM3 entry: found at its place.
        last = max(session.scalars(select(AccessLogEntry.seq)))
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for name in (
                conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='access_log_entry'")
                )
                .scalars()
                .all()
            ):
                conn.execute(text(f"DROP TRIGGER {name}"))
        else:
            conn.execute(text("ALTER TABLE access_log_entry DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE access_log_entry SET detail = '改过' WHERE seq = :s"), {"s": last})
    with db.get_sessionmaker()() as session:
        report = verify_chain(session)
    assert report.broken_seq == last and "被改动" in report.reason


def test_demo_secret_matches_the_readme():
    """README lists each demo account's authenticator secret: the function that loads them gives the same."""
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for username in ("admin", "security", "archivist", "sibao"):
        assert f"`{username}`" in readme and demo_totp_secret(username) in readme, username

"""大政办发〔2017〕49号 第十七条 (管理人员须按规定参加岗前培训、考核，持证上岗): staff carry their certificates,
and a bureau whose policy requires it cannot give the archivist role to anyone without a valid one."""

from datetime import timedelta

from archive_service.db import bureau_today
from tests.archive_service.test_requests import log


def new_account(client, admin, username: str, role: str) -> object:
    me = client.get("/api/me", headers=admin).json()
    return client.post(
        "/api/users",
        json={
            "username": username,
            "display_name": f"{username}同志",
            "password": "correct horse battery 9",
            "role": role,
            "organisation_id": me["organisation_id"],
        },
        headers=admin,
    )


def test_an_uncertified_user_cannot_be_made_archivist_where_the_bureau_requires_it(client, login):
    admin = login("security")
    # Not required (the default): the role is given as before.
    assert new_account(client, admin, "zhang_free", "archivist").status_code == 201

    policy = client.put("/api/organisations/staff-qualification", json={"required": True}, headers=admin)
    assert policy.status_code == 200
    assert log(action="policy_changed")[-1].detail.endswith("不要求持证 → 档案管理员须持证上岗")
    refused = new_account(client, admin, "li_new", "archivist")
    assert refused.status_code == 409 and refused.json()["code"] == "role.uncertified"
    assert refused.json()["field"] == "role" and "第十七条" in refused.json()["message"]

    clerk = new_account(client, admin, "li_new", "intake_clerk").json()
    promote = lambda: client.patch(f"/api/users/{clerk['id']}", json={"role": "archivist"}, headers=admin)  # noqa: E731
    assert promote().status_code == 409

    today = bureau_today()
    url = f"/api/users/{clerk['id']}/certificates"
    expired = {
        "title": "档案管理岗位培训合格证书",
        "number": "DL-2019-0042",
        "issued_on": str(today - timedelta(days=900)),
        "expires_on": str(today - timedelta(days=1)),
    }
    assert client.post(url, json=expired, headers=admin).status_code == 201
    assert promote().status_code == 409  # an expired certificate does not count
    bad = [
        ({**expired, "title": " "}, "title"),
        ({**expired, "number": ""}, "number"),
        ({**expired, "issued_on": str(today + timedelta(days=1)), "expires_on": None}, "issued_on"),
        ({**expired, "expires_on": str(today - timedelta(days=1000))}, "expires_on"),
    ]
    for body, field in bad:
        r = client.post(url, json=body, headers=admin)
        assert r.status_code == 400 and r.json()["field"] == field, r.text
    valid = {
        **expired,
        "number": "DL-2026-0815",
        "issued_on": str(today),
        "expires_on": str(today + timedelta(days=1095)),
    }
    assert client.post(url, json=valid, headers=admin).status_code == 201
    assert promote().status_code == 200 and promote().json()["role"] == "archivist"
    held = client.get(url, headers=admin).json()
    assert [c["number"] for c in held] == ["DL-2019-0042", "DL-2026-0815"]
    assert any("登记培训证书：li_new" in e.detail and "DL-2026-0815" in e.detail for e in log(action="account_changed"))

    # Nobody but the bureau's administrator records them, and never for another bureau's staff.
    assert client.post(url, json=valid, headers=login("archivist")).status_code == 403
    dongcheng = client.get("/api/me", headers=login("dongcheng")).json()
    assert client.post(f"/api/users/{dongcheng['id']}/certificates", json=valid, headers=admin).status_code == 404

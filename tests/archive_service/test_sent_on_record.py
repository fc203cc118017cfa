"""After a 转递 the sending bureau keeps a read-only record of the file (issue 36, item 7): its dossier page
says who holds the file now, since when, with the batch and its 交接书; the 已转出 tile and list count it; its
waiting and approved requests for the file are closed with a reason the requester sees, and stay with the
sending bureau (the receiving bureau does not inherit them). Records made here: a new enterprise, its
register, requests made by the test."""

import re
from datetime import timedelta

from archive_service.db import bureau_today
from tests.archive_service.test_catalogue_path import ask, new_enterprise
from tests.archive_service.test_requests import READER
from tests.archive_service.test_transfers import as_xlsx, row


def sent_on_tile(client, who) -> int:
    dashboard = client.get("/", headers=who).text
    return int(re.search(r'data-status="transferred_out"><b>(\d+)</b>', dashboard).group(1))


def test_the_sender_keeps_a_record_and_its_requests_close_when_a_file_is_sent_on(client, login):
    clerk, archivist, sibao, dongcheng = login("clerk"), login("archivist"), login("sibao"), login("dongcheng")
    enterprise = new_enterprise(client, login)
    created = client.post(
        "/api/transfers",
        data={"enterprise_id": enterprise},
        files={"file": ("名册.xlsx", as_xlsx([row(88, 姓名="钱玉兰")]))},
        headers=clerk,
    )
    assert created.status_code == 201, created.text
    batch_id, item = created.json()["id"], created.json()["items"][0]
    dossier_id = client.post(
        f"/api/transfers/{batch_id}/receive", json={"key": item["citizen_id"]}, headers=clerk
    ).json()["dossier_id"]
    code = client.get(f"/api/dossiers/{dossier_id}", headers=clerk).json()["archival_code"]

    # Two requests of the social-insurance agency: one approved, one still waiting.
    approved = ask(client, login, code, "online_view")
    form = {"dossier": code, "purpose": "benefit_change", "purpose_detail": "待遇变更", "material_classes": [1],
            "mode": "online_view", "valid_from": bureau_today().isoformat(),
            "valid_until": (bureau_today() + timedelta(days=6)).isoformat(), "reader_name": "李社保",
            "reader_citizen_id": READER, "relationship": "none"}  # fmt: skip
    waiting = client.post("/api/requests", json=form, headers=sibao)
    assert waiting.status_code == 201, waiting.text
    tiles_before = sent_on_tile(client, archivist)

    # 钱玉兰 moves to 东城: the file is sent on, and 东城 checks it in and both confirm.
    dongcheng_org = client.get("/api/me", headers=dongcheng).json()["organisation_id"]
    sent = client.post(
        "/api/transfers/onward",
        json={"to_org_id": dongcheng_org, "archival_codes": [code], "note": "户籍迁至东城区"},
        headers=archivist,
    )
    assert sent.status_code == 201, sent.text
    onward_id = sent.json()["id"]
    assert client.get(f"/api/requests/{approved['id']}", headers=sibao).json()["status"] == "approved"  # not yet
    got = client.post(f"/api/transfers/{onward_id}/receive", json={"key": code}, headers=dongcheng)
    assert got.status_code == 200, got.text
    for who, side in ((archivist, "sender"), (dongcheng, "receiver")):
        r = client.post(f"/api/transfers/{onward_id}/confirm", json={"side": side}, headers=who)
        assert r.status_code == 200, r.text

    # The sender's dossier page is its read-only record; the API says where the file went.
    page = client.get(f"/dossiers/{dossier_id}", headers=archivist)
    assert page.status_code == 200 and 'id="sent-on"' in page.text
    holder = re.search(r'id="holder">([^<]+)<', page.text).group(1)
    assert "东城" in holder and sent.json()["number"] in page.text and 'id="sent-receipt"' in page.text
    assert 'id="digitise-form"' not in page.text and 'id="catalogue"' not in page.text  # nothing to work on
    api = client.get(f"/api/dossiers/{dossier_id}", headers=archivist)
    assert api.status_code == 410 and "转递至" in api.json()["message"] and "东城" in api.json()["message"]
    # The 已转出 tile and list count it; the receiving bureau has the file itself.
    assert sent_on_tile(client, archivist) == tiles_before + 1
    listed = client.get("/dossiers", params={"status": "transferred_out"}, headers=archivist).text
    assert f'href="/dossiers/{dossier_id}"' in listed
    assert client.get(f"/api/dossiers/{dossier_id}", headers=dongcheng).json()["status"] == "in_custody"

    # Both requests closed, with the reason; the requester and the sending bureau see it, 东城 does not.
    for request_id in (approved["id"], waiting.json()["id"]):
        assert client.get(f"/api/requests/{request_id}", headers=sibao).json()["status"] == "closed"
        for who in (sibao, login("approver")):
            screen = client.get(f"/requests/{request_id}", headers=who)
            assert screen.status_code == 200, screen.text
            closed = re.search(r'id="closed">(.*?)</dd>', screen.text).group(1)
            assert "终止：档案已于" in closed and "东城" in closed and "请向该馆申请" in closed
            assert closed.startswith("王档案")  # in the name of the sending bureau's archivist who sent it on
        assert client.get(f"/api/requests/{request_id}", headers=dongcheng).status_code == 404
    assert client.get(f"/api/requests/{approved['id']}/pages/1", headers=sibao).status_code in (403, 409)

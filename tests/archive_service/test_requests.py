"""Retrieval requests through the API: the use rules, approval, watermarked delivery and the register."""

import base64
import io
import re
from datetime import date, timedelta

import numpy as np
import pikepdf
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from archive_service import db
from archive_service.access.loans import overdue_loans
from archive_service.access.log import verify_chain
from archive_service.access.models import AccessLogEntry
from archive_service.db import bureau_today
from archive_service.dossiers.models import Dossier, DossierStatus
from digitise.specimen import citizen_id_for
from tests.archive_service.conftest import blank_scans
from tests.rendering import likeness

READER = citizen_id_for("110105", date(1980, 5, 6), 21, "F")


def form(target, **changes):
    today = bureau_today()
    data = {
        "dossier": target.archival_code,
        "purpose": "benefit_change",
        "purpose_detail": "待遇变更，核对参加工作时间",
        "material_classes": [1, 9],
        "mode": "online_view",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=6)).isoformat(),
        "reader_name": "李社保",
        "reader_citizen_id": READER,
        "relationship": "none",
    }
    return {**data, **changes}


def submit(client, login, target, **changes):
    return client.post("/api/requests", json=form(target, **changes), headers=login("sibao"))


def approved(client, login, dossier, **decision):
    r = submit(client, login, dossier)
    assert r.status_code == 201, r.text
    d = client.post(
        f"/api/requests/{r.json()['id']}/decision", json={"approve": True, **decision}, headers=login("approver")
    )
    assert d.status_code == 200, d.text
    return d.json()


def log(**where):
    with db.get_sessionmaker()() as s:
        query = select(AccessLogEntry).order_by(AccessLogEntry.seq)
        for k, v in where.items():
            query = query.where(getattr(AccessLogEntry, k) == v)
        return s.scalars(query).all()


def test_request_is_numbered_and_waits_for_approval(client, login, digitised):
    r = submit(client, login, digitised)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["number"] == f"CY-{bureau_today().year}-00001" and body["status"] == "submitted"
    assert body["approved_pages"] == []
    # The retiree's full citizen ID works as well as the 档号.
    with db.get_sessionmaker()() as s:
        cid = s.get(Dossier, digitised.id).retiree.citizen_id
    assert submit(client, login, digitised, dossier=cid).status_code == 201


def test_use_rules_refuse_with_field_and_reason(client, login, digitised):
    with db.get_sessionmaker()() as s:
        own = s.get(Dossier, digitised.id).retiree.citizen_id
    cases = [
        ({"reader_citizen_id": own}, 403, "request.own_file", "reader_citizen_id"),
        ({"relationship": "child"}, 403, "request.close_relative", "relationship"),
        ({"mode": "paper_loan"}, 400, "request.mode", "mode"),
        (
            {
                "purpose": "judicial",
                "mode": "paper_loan",
                "valid_until": (bureau_today() + timedelta(days=20)).isoformat(),
            },
            400,
            "request.validity_too_long",
            "valid_until",
        ),
        ({"purpose": "holiday"}, 400, "request.purpose", "purpose"),
        ({"material_classes": [11]}, 400, "request.material_classes", "material_classes"),
        (
            {"reader_citizen_id": READER[:-1] + ("0" if READER[-1] != "0" else "1")},
            400,
            "citizen_id.check_digit",
            "reader_citizen_id",
        ),
        ({"dossier": "J999-RS-000001"}, 404, "not_found", "dossier"),
    ]
    for changes, status, code, field in cases:
        r = submit(client, login, digitised, **changes)
        assert (r.status_code, r.json()["code"], r.json()["field"]) == (status, code, field), (changes, r.text)
    assert "本人档案" in submit(client, login, digitised, reader_citizen_id=own).json()["message"]


def test_approver_narrows_never_widens_and_cannot_be_the_requester(client, login, digitised):
    rid = submit(client, login, digitised).json()["id"]
    widen = client.post(
        f"/api/requests/{rid}/decision",
        json={"approve": True, "material_classes": [1, 2, 9]},
        headers=login("approver"),
    )
    assert widen.status_code == 400 and widen.json()["code"] == "decision.material_classes"
    assert (
        client.post(f"/api/requests/{rid}/decision", json={"approve": True}, headers=login("sibao")).status_code == 403
    )
    reject = client.post(f"/api/requests/{rid}/decision", json={"approve": False}, headers=login("approver"))
    assert reject.json()["field"] == "reason"
    ok = client.post(
        f"/api/requests/{rid}/decision", json={"approve": True, "material_classes": [9]}, headers=login("approver")
    )
    assert ok.json()["status"] == "approved" and ok.json()["material_classes"] == [9]
    assert [e.action for e in log(request_id=rid)] == ["approve"]


def test_requester_sees_only_approved_pages_watermarked_and_each_view_is_logged(client, login, digitised):
    req = approved(client, login, digitised, material_classes=[9])
    pages = req["approved_pages"]
    assert pages
    r = client.get(f"/api/requests/{req['id']}/pages/{pages[0]}", headers=login("sibao"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    rgb = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")).astype(int)
    reds = int(((rgb[..., 0] > 150) & (rgb[..., 1] < 120) & (rgb[..., 2] < 120)).sum())
    assert reds > 500  # the watermark is drawn into the (blank) page
    # ... which is still the paper the scan shows, not a negative under the watermark.
    found = likeness(Image.open(io.BytesIO(r.content)), Image.open(blank_scans(1)[0]))
    assert found.alike, found
    views = log(request_id=req["id"], action="view_page")
    assert len(views) == 1 and views[0].pages == [pages[0]] and views[0].role == "requester"
    outside = 1  # page 1 is class 1, not approved
    assert outside not in pages
    denied = client.get(f"/api/requests/{req['id']}/pages/{outside}", headers=login("sibao"))
    assert denied.status_code == 403 and denied.json()["code"] == "page.not_approved"
    assert len(log(request_id=req["id"], action="view_page")) == 1  # nothing delivered, nothing logged
    # Only the requester; the bureau's own staff use the copy through custody work instead.
    assert client.get(f"/api/requests/{req['id']}/pages/{pages[0]}", headers=login("approver")).status_code == 403


def test_download_and_print_are_separate_permissions(client, login, digitised):
    plain = approved(client, login, digitised)
    r = client.get(f"/api/requests/{plain['id']}/download", headers=login("sibao"))
    assert r.status_code == 403 and r.json()["code"] == "request.download_not_allowed"
    allowed = approved(client, login, digitised, allow_download=True)
    r = client.get(f"/api/requests/{allowed['id']}/download", headers=login("sibao"))
    assert r.status_code == 200
    with pikepdf.open(io.BytesIO(r.content)) as pdf:
        assert len(pdf.pages) == len(allowed["approved_pages"])
    assert [e.action for e in log(request_id=allowed["id"])] == ["approve", "download"]


def test_print_is_a_watermarked_print_page_not_the_file(client, login, digitised):
    downloadable = approved(client, login, digitised, allow_download=True)
    refused = client.get(f"/requests/{downloadable['id']}/print", headers=login("sibao"))
    assert refused.status_code == 403 and "审批未允许打印" in refused.text  # a download is not a print
    req = approved(client, login, digitised, allow_print=True)
    r = client.get(f"/requests/{req['id']}/print", headers=login("sibao"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "no-store" in r.headers["cache-control"] and "attachment" not in r.headers.get("content-disposition", "")
    images = re.findall(r'<img src="data:image/jpeg;base64,([^"]+)" alt="第 (\d+) 页"', r.text)
    assert [int(n) for _, n in images] == req["approved_pages"]
    first = Image.open(io.BytesIO(base64.b64decode(images[0][0])))
    rgb = np.asarray(first.convert("RGB")).astype(int)
    assert int(((rgb[..., 0] > 150) & (rgb[..., 1] < 120) & (rgb[..., 2] < 120)).sum()) > 500  # marked
    found = likeness(first, Image.open(blank_scans(1)[0]))
    assert found.alike, found  # the paper as scanned, not a negative
    # The download route still refuses: printing hands over no file.
    assert client.get(f"/api/requests/{req['id']}/download", headers=login("sibao")).status_code == 403
    entries = log(request_id=req["id"])
    assert [e.action for e in entries] == ["approve", "print_page"]
    assert entries[-1].pages == req["approved_pages"]


def test_page_is_not_delivered_when_its_log_entry_cannot_be_written(client, login, digitised, monkeypatch):
    req = approved(client, login, digitised)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("archive_service.access.delivery.record_access", broken)
    client = TestClient(client.app, raise_server_exceptions=False)
    r = client.get(f"/api/requests/{req['id']}/pages/{req['approved_pages'][0]}", headers=login("sibao"))
    assert r.status_code == 500 and r.headers["content-type"] != "image/jpeg"


def test_paper_loan_out_and_back_with_custody_and_overdue(client, login, digitised):
    today = bureau_today()
    r = submit(
        client,
        login,
        digitised,
        purpose="judicial",
        mode="paper_loan",
        valid_until=(today + timedelta(days=13)).isoformat(),
    )
    rid = r.json()["id"]
    client.post(f"/api/requests/{rid}/decision", json={"approve": True}, headers=login("approver"))
    assert client.post(f"/api/requests/{rid}/loan", headers=login("sibao")).status_code == 403
    out = client.post(f"/api/requests/{rid}/loan", headers=login("archivist"))
    assert out.status_code == 200 and out.json()["loan_due"] == (today + timedelta(days=13)).isoformat()
    with db.get_sessionmaker()() as s:
        assert s.get(Dossier, digitised.id).status == DossierStatus.on_loan
        assert [
            q.id for q in overdue_loans(s, s.get(Dossier, digitised.id).custodian_id, today=today + timedelta(days=15))
        ] == [rid]
    again = client.post(f"/api/requests/{rid}/loan", headers=login("archivist"))
    assert again.status_code == 409
    missing_note = client.post(f"/api/requests/{rid}/return", json={"complete": False}, headers=login("archivist"))
    assert missing_note.json()["field"] == "note"
    back = client.post(f"/api/requests/{rid}/return", json={"complete": True}, headers=login("archivist"))
    assert back.status_code == 200 and back.json()["status"] == "closed"
    with db.get_sessionmaker()() as s:
        assert s.get(Dossier, digitised.id).status == DossierStatus.in_custody
    assert [e.action for e in log(request_id=rid)] == ["approve", "loan_out", "loan_return"]


def test_certified_copy_has_a_certification_page_and_is_registered(client, login, digitised):
    r = submit(client, login, digitised, purpose="notarisation", mode="certified_copy")
    rid = r.json()["id"]
    req = client.post(
        f"/api/requests/{rid}/decision", json={"approve": True, "material_classes": [9]}, headers=login("approver")
    ).json()
    pdf = client.post(
        f"/api/requests/{rid}/certified-copy", json={"annotation": "经核对与原件一致"}, headers=login("archivist")
    )
    assert pdf.status_code == 200
    with pikepdf.open(io.BytesIO(pdf.content)) as doc:
        assert len(doc.pages) == 1 + len(req["approved_pages"])
    entry = log(request_id=rid, action="export")[0]
    assert "复制件第 1 份" in entry.detail and entry.pages == req["approved_pages"]


def test_auditor_reads_and_exports_the_register_and_the_chain_holds(client, login, digitised):
    req = approved(client, login, digitised)
    client.get(f"/api/requests/{req['id']}/pages/{req['approved_pages'][0]}", headers=login("sibao"))
    assert client.get("/api/audit/log.xlsx", headers=login("sibao")).status_code == 403
    x = client.get(f"/api/audit/log.xlsx?archival_code={digitised.archival_code}", headers=login("auditor"))
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("序号", "时间", "用户") and {"网上查阅", "批准"} <= {row[6] for row in rows[1:]}
    assert log(action="export")[-1].role == "auditor"  # the export itself is on record
    verify = client.get("/api/audit/verify", headers=login("auditor")).json()
    assert verify["ok"] and verify["entries"] >= 3
    with db.get_sessionmaker()() as s:
        assert verify_chain(s).ok


def test_the_request_form_defaults_to_the_purposes_window_not_today_to_today(client, login):
    """A request valid today–today, approved tomorrow, had already expired."""
    import re

    from archive_service.access.service import purposes
    from archive_service.db import bureau_today

    form = client.get("/requests", headers=login("sibao")).text
    first = next(iter(purposes().values()))
    until = re.search(r'name="valid_until" id="valid-until" value="([\d-]+)"', form)[1]
    assert until == (bureau_today() + timedelta(days=first.max_days - 1)).isoformat()
    assert f'data-days="{first.max_days}"' in form  # the page moves the end with the purpose chosen

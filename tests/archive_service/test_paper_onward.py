# ruff: noqa: E501 — API calls read best on one line
"""转递 to a bureau that does not use this installation (晋政办通〔2020〕18号 第二十二条): the 转递单 printed with
the list and its manifest hash, the signed return slip recorded to close the batch, an unsent batch
withdrawn with the files back on their shelf places. Files received through a register the test uploads."""

import io
import subprocess
import tempfile

import numpy as np
from PIL import Image
from sqlalchemy import select

from archive_service import db
from archive_service.auth.models import User
from archive_service.db import bureau_today
from archive_service.demo import credit_code
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, DigitalObject, Dossier, DossierStatus
from archive_service.shelving import placement
from archive_service.shelving.models import ShelfSlot
from archive_service.transfers.models import TransferBatch
from tests.archive_service.test_life_events import received
from tests.archive_service.test_transfers import row
from tests.rendering import render

HEXI = "120103"  # 天津市河西区


def paper_bureau(client, login) -> int:
    made = client.post(
        "/api/organisations",
        json={
            "name": "天津市河西区档案馆",
            "kind": "bureau",
            "credit_code": credit_code("12120103MB0", 9),
            "region_code": HEXI,
        },
        headers=login("admin"),
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def send(client, login, to: int, *dossiers) -> dict:
    r = client.post(
        "/api/transfers/onward",
        json={"to_org_id": to, "archival_codes": [d.archival_code for d in dossiers], "note": "户籍迁至天津市河西区"},
        headers=login("archivist"),
    )
    assert r.status_code == 201, r.text
    return r.json()


def scan_png() -> bytes:
    page = Image.new("L", (1654, 2339), 255)  # A4 at 200 dpi, the least a scan may have (DA/T 31 9.4)
    page.paste(0, (200, 200, 1450, 260))  # a printed line: the slip is a page, not a blank
    out = io.BytesIO()
    page.save(out, "PNG", dpi=(200, 200))
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return subprocess.run(["pdftotext", f.name, "-"], capture_output=True, text=True, check=True).stdout


def test_the_onward_slip_then_the_signed_return_slip_closes_the_batch(client, login):
    hexi = paper_bureau(client, login)
    first, second = received(client, login, row(81), row(82))
    batch = send(client, login, hexi, first, second)
    archivist = login("archivist")

    slip = client.get(f"/api/transfers/{batch['id']}/onward-slip.pdf", headers=archivist)
    assert slip.status_code == 200 and slip.content[:5] == b"%PDF-"
    text = pdf_text(slip.content).replace(" ", "")
    assert "退休人员人事档案转递单" in text and "户籍迁至天津市河西区" in text
    assert first.archival_code in text and second.archival_code in text and "天津市河西区档案馆" in text
    (page,) = render(slip.content)[:1]
    tone = np.asarray(page.convert("L"), dtype=float)
    assert tone.mean() > 200 and (tone < 100).mean() > 0.005  # black print on white, as printed

    url = f"/api/transfers/{batch['id']}/return-slip"
    today = bureau_today().isoformat()
    cases = [
        ({"signer": "", "signed_on": today}, scan_png(), "signer"),
        ({"signer": "刘河西", "signed_on": "2999-01-01"}, scan_png(), "signed_on"),
        ({"signer": "刘河西", "signed_on": today}, b"not an image", "scans"),
    ]
    for data, content, field in cases:
        r = client.post(url, data=data, files={"scan": ("回执.png", content, "image/png")}, headers=archivist)
        assert r.status_code in (400, 409, 413, 422) and r.json()["field"] == field, r.text
    with db.get_sessionmaker()() as s:
        assert s.scalars(select(DigitalObject).where(DigitalObject.role == "return_slip")).all() == []
        assert s.get(TransferBatch, batch["id"]).status.value == "registered"

    r = client.post(
        url,
        data={"signer": "刘河西", "signed_on": today},
        files={"scan": ("回执.png", scan_png(), "image/png")},
        headers=archivist,
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "confirmed" and closed["return_slip_signer"] == "刘河西" and closed["manifest_sha256"]
    with db.get_sessionmaker()() as s:
        for d in (first, second):
            dossier = s.get(Dossier, d.id)
            assert dossier.status is DossierStatus.transferred_out and dossier.custodian_id == hexi
            (kept,) = s.scalars(
                select(DigitalObject).where(DigitalObject.dossier_id == d.id, DigitalObject.role == "return_slip")
            )
            assert kept.sha256 == s.get(TransferBatch, batch["id"]).return_slip_sha256
            last = s.scalars(
                select(CustodyEvent).where(CustodyEvent.dossier_id == d.id).order_by(CustodyEvent.id.desc())
            ).first()
            assert last.kind is CustodyEventKind.transferred_out and "刘河西" in last.note
    receipt = client.get(f"/api/transfers/{batch['id']}/receipt.pdf", headers=archivist)
    assert receipt.status_code == 200 and "刘河西" in pdf_text(receipt.content)
    again = client.post(
        url,
        data={"signer": "刘河西", "signed_on": today},
        files={"scan": ("回执.png", scan_png(), "image/png")},
        headers=archivist,
    )
    assert again.status_code == 409 and again.json()["code"] == "batch.status"


def test_a_bureau_that_uses_this_installation_checks_the_files_in_itself(client, login):
    (d,) = received(client, login, row(83))
    dongcheng = next(
        o["id"]
        for o in client.get("/api/organisations", headers=login("admin")).json()
        if o["name"] == "北京市东城区档案馆"
    )
    batch = send(client, login, dongcheng, d)
    r = client.post(
        f"/api/transfers/{batch['id']}/return-slip",
        data={"signer": "陈东城", "signed_on": bureau_today().isoformat()},
        files={"scan": ("回执.png", scan_png(), "image/png")},
        headers=login("archivist"),
    )
    assert r.status_code == 409 and r.json()["code"] == "batch.receiver_in_system"


def test_an_unsent_transfer_is_withdrawn_and_the_files_go_back_to_their_places(client, login):
    hexi = paper_bureau(client, login)
    (d,) = received(client, login, row(84))
    with db.transaction() as s:
        archivist = s.scalar(select(User).where(User.username == "archivist"))
        slot = next(
            x for x in s.scalars(select(ShelfSlot).order_by(ShelfSlot.id)) if x.capacity_volumes - x.used_volumes >= 1
        )
        placement.place(s, archivist, s.get(Dossier, d.id), slot)
        slot_id, used = slot.id, slot.used_volumes  # read again after placing: this file included
    batch = send(client, login, hexi, d)
    with db.get_sessionmaker()() as s:
        assert s.get(Dossier, d.id).shelf_slot_id is None and s.get(ShelfSlot, slot_id).used_volumes == used - 1

    url = f"/api/transfers/{batch['id']}/cancel"
    refused = client.post(url, json={"reason": " "}, headers=login("archivist"))
    assert refused.status_code == 400 and refused.json()["field"] == "reason"
    assert client.post(url, json={"reason": "退休人员户籍迁移未办成"}, headers=login("clerk")).status_code == 403
    done = client.post(url, json={"reason": "退休人员户籍迁移未办成"}, headers=login("archivist"))
    assert done.status_code == 200 and done.json()["status"] == "cancelled", done.text
    with db.get_sessionmaker()() as s:
        dossier = s.get(Dossier, d.id)
        assert dossier.status is DossierStatus.in_custody and dossier.shelf_slot_id == slot_id
        assert s.get(ShelfSlot, slot_id).used_volumes == used
        last = s.scalars(
            select(CustodyEvent).where(CustodyEvent.dossier_id == d.id).order_by(CustodyEvent.id.desc())
        ).first()
        assert (
            last.kind is CustodyEventKind.onward_cancelled
            and last.to_slot_id == slot_id
            and "户籍迁移未办成" in last.note
        )
    assert client.post(url, json={"reason": "再撤一次"}, headers=login("archivist")).status_code == 409
    assert client.get(f"/api/transfers/{batch['id']}/onward-slip.pdf", headers=login("archivist")).status_code == 409

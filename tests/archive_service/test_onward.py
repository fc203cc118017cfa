"""转递: files sent on to another bureau when a retiree moves — the same batch, register, receiving and
confirmation as an intake; the files leave the shelves, custody passes on receipt, a returned file comes
back; the sender keeps a (logged) copy of a digitised file only when configured to."""

import pytest
from sqlalchemy import func, select

from archive_service import config, db
from archive_service.access.models import AccessLogEntry
from archive_service.dossiers.models import CustodyEventKind, Dossier, DossierStatus
from archive_service.dossiers.service import custody_history
from archive_service.organisations.models import Organisation
from archive_service.shelving.models import ShelfSlot
from archive_service.transfers import onward, receipt, receiving
from archive_service.transfers import service as transfers
from archive_service.transfers.models import ItemResult, TransferKind, TransferStatus
from tests.archive_service.test_transfers import error_of, user


def held(session, who: str = "archivist", n: int = 2) -> list[Dossier]:
    org = user(session, who).organisation_id
    return list(
        session.scalars(
            select(Dossier)
            .where(Dossier.custodian_id == org, Dossier.status == DossierStatus.in_custody)
            .order_by(Dossier.id)
            .limit(n)
        )
    )


def dongcheng(session) -> int:
    return user(session, "dongcheng").organisation_id


def test_sending_on_lists_every_problem_and_sends_nothing_then_takes_files_off_the_shelf(engine, demo):
    with db.transaction() as session:
        archivist = user(session, "archivist")
        a, b = held(session)
        target = dongcheng(session)
        on_loan = session.scalar(select(Dossier).where(Dossier.status != DossierStatus.in_custody).limit(1))
        codes = [a.archival_code, "J999-RS-000001", *([on_loan.archival_code] if on_loan else [])]
        refused = error_of(lambda: onward.send_onward(session, archivist, target, codes, "户籍迁至东城区"))
        assert refused.field == "archival_codes" and len(refused.problems) == len(codes) - 1
        assert refused.problems[0]["code"] == "archival_code.not_held"
        assert error_of(lambda: onward.send_onward(session, archivist, target, [a.archival_code], "")).field == "note"
        own = archivist.organisation_id
        assert error_of(lambda: onward.send_onward(session, archivist, own, [a.archival_code], "迁居")).field == (
            "to_org_id"
        )
        assert error_of(lambda: onward.send_onward(session, user(session, "clerk"), target, [], "x")).status == 403
        assert a.status is DossierStatus.in_custody  # nothing happened
        slot_id = a.shelf_slot_id
        assert slot_id is not None
        used = session.get(ShelfSlot, slot_id).used_volumes
        leaving = a.volumes + (b.volumes if b.shelf_slot_id == slot_id else 0)

        batch = onward.send_onward(
            session, archivist, target, [a.archival_code.lower(), b.archival_code, a.archival_code], "户籍迁至东城区"
        )
        assert batch.kind is TransferKind.onward and batch.number.startswith("ZD") and len(batch.items) == 2
        assert [i.archival_code for i in batch.items] == [a.archival_code, b.archival_code]
        # The receiving bureau checks each file against its retiree's particulars as they stood here.
        assert [i.particulars for i in batch.items] == [a.retiree.particulars, b.retiree.particulars]
        first = batch.items[0]
        assert (first.retiree_name, first.citizen_id, first.birth_date, first.hukou_region_code, first.secrecy) == (
            a.retiree.name,
            a.retiree.citizen_id,
            a.retiree.birth_date,
            a.retiree.hukou_region_code,
            a.retiree.secrecy,
        )
        assert a.status is DossierStatus.in_transfer and a.shelf_slot_id is None
        session.expire_all()
        assert session.get(ShelfSlot, slot_id).used_volumes == used - leaving
        sent = custody_history(session, a)[-1]
        assert (sent.kind, sent.from_slot_id, sent.to_org_id) == (CustodyEventKind.transfer_sent, slot_id, target)
        # Not sent twice while the first batch is open.
        again = error_of(lambda: onward.send_onward(session, archivist, target, [a.archival_code], "迁居"))
        assert again.problems[0]["code"] == "dossier.status"


def test_custody_passes_on_receipt_and_a_returned_file_comes_back(engine, demo):
    with db.transaction() as session:
        archivist, other = user(session, "archivist"), user(session, "dongcheng")
        a, b = held(session)
        batch = onward.send_onward(session, archivist, dongcheng(session), [a.archival_code, b.archival_code], "迁居")
        # Only the receiving bureau checks the volumes in.
        assert error_of(lambda: receiving.receive(session, archivist, batch.id, receiving.Check("#1"))).status == 403
        receiving.receive(session, other, batch.id, receiving.Check(a.archival_code))
        receiving.receive(
            session, other, batch.id, receiving.Check("#2", ItemResult.rejected, "卷内缺页，请补齐后再转")
        )
        session.expire_all()
        a, b = session.get(Dossier, a.id), session.get(Dossier, b.id)
        assert (a.custodian_id, a.status) == (other.organisation_id, DossierStatus.in_custody)
        assert (b.custodian_id, b.status) == (archivist.organisation_id, DossierStatus.in_custody)
        kinds = [e.kind for e in custody_history(session, a)]
        assert kinds[-2:] == [CustodyEventKind.transfer_sent, CustodyEventKind.received]
        # The sender confirms for itself (an intake clerk may not); then the receiver; the batch closes.
        assert error_of(lambda: transfers.confirm(session, user(session, "clerk"), batch.id, "sender")).status == 403
        assert error_of(lambda: transfers.confirm(session, other, batch.id, "sender")).status == 403
        transfers.confirm(session, archivist, batch.id, "sender")
        done = transfers.confirm(session, other, batch.id, "receiver")
        assert done.status is TransferStatus.confirmed and "王档案" in done.sender_confirmed_by
        data = receipt.manifest(session, done)
        assert data["kind"] == "onward" and [i["result"] for i in data["items"]] == ["accepted", "rejected"]
        assert transfers.receipt(session, archivist, batch.id)[:4] == b"%PDF"  # either side can download it


@pytest.mark.parametrize("mode", ["move", "retain"])
def test_the_senders_digital_copy_is_moved_or_retained_as_configured(digitised, client, login, monkeypatch, mode):
    monkeypatch.setenv("ARCHIVE_ONWARD_DIGITAL_COPY", mode)
    config.get_settings.cache_clear()
    with db.transaction() as session:
        batch = onward.send_onward(
            session, user(session, "archivist"), dongcheng(session), [digitised.archival_code], "户籍迁至东城区"
        )
        receiving.receive(session, user(session, "dongcheng"), batch.id, receiving.Check("#1"))
        batch_id = batch.id
    archivist = login("archivist")
    # The file itself is no longer ours either way: refused, saying where it went (issue 36, item 7).
    gone = client.get(f"/dossiers/{digitised.id}/copy.pdf", headers=archivist)
    assert gone.status_code == 410 and "转递至" in gone.text
    logged = lambda: db.get_sessionmaker()().scalar(select(func.count()).select_from(AccessLogEntry))  # noqa: E731
    before = logged()
    r = client.get(f"/transfers/{batch_id}/retained/{digitised.id}.pdf", headers=archivist)
    if mode == "move":
        assert r.status_code == 404 and logged() == before
    else:
        assert r.status_code == 200 and r.content[:4] == b"%PDF" and logged() == before + 1
        page = client.get(f"/transfers/{batch_id}", headers=archivist).text
        assert "留存副本" in page
    # The receiving bureau opens the copy as its own.
    assert client.get(f"/dossiers/{digitised.id}/copy.pdf", headers=login("dongcheng")).status_code == 200
    with db.get_sessionmaker()() as session:
        shown = client.get(f"/transfers/{batch_id}", headers=archivist).text
        assert session.get(Organisation, dongcheng(session)).name in shown
    # Between two bureaus the parties are 转出馆 and 接收馆, not an enterprise's 移交单位.
    particulars = shown[shown.index("<main") :]  # the menu links to the 移交单位 page, for everyone
    assert "<dt>转出馆</dt>" in particulars and "<dt>接收馆</dt>" in particulars and "移交单位" not in particulars


def test_sending_on_through_the_api(client, login):
    archivist = login("archivist")
    target = next(
        o
        for o in client.get("/api/organisations", headers=archivist).json()
        if o["name"] != "北京市西城区档案馆" and o["kind"] == "bureau"
    )
    mine = client.get("/api/dossiers?status=in_custody", headers=archivist).json()["items"][0]["archival_code"]
    bad = client.post(
        "/api/transfers/onward",
        json={"to_org_id": target["id"], "archival_codes": [mine, "X-1"], "note": "迁居"},
        headers=archivist,
    )
    assert bad.status_code == 422 and bad.json()["field"] == "archival_codes" and len(bad.json()["problems"]) == 1
    r = client.post(
        "/api/transfers/onward",
        json={"to_org_id": target["id"], "archival_codes": [mine], "note": "户籍迁至东城区"},
        headers=archivist,
    )
    assert r.status_code == 201 and r.json()["kind"] == "onward" and r.json()["items"][0]["archival_code"] == mine
    assert client.get(f"/api/transfers/{r.json()['id']}", headers=login("dongcheng")).status_code == 200

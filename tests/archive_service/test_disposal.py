"""Retention and disposal (issue 37 item 12; 晋政办通〔2020〕18号 第八条(七) 人事档案…处置). The bureau sets how
many years after a retiree's death (disappearance, emigration) a file is kept; a file past that is listed as due;
it is destroyed only through a 销毁清册 drawn up by one person and signed by two others — the paper leaves its
shelf slot by a 销毁 custody event, the digital objects leave the store (their records and checksums stay, fixity
skips them), and the list is kept forever and exported. Files received through registers the test uploads, on
SQLite and PostgreSQL, through the service and the API and pages a person uses."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError

from archive_service import adapters, db
from archive_service.access.models import AccessLogEntry
from archive_service.auth.models import Role, User
from archive_service.auth.permissions import GRANTS, Action
from archive_service.auth.service import create_user
from archive_service.config import get_settings
from archive_service.db import bureau_today
from archive_service.demo import DEMO_PASSWORD
from archive_service.disposal import service as disposal
from archive_service.disposal.models import DisposalList
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, DigitalObject, Dossier, PageText
from archive_service.preservation.models import FixityCheck, ObjectDeletion
from archive_service.preservation.service import check_fixity, ingest
from archive_service.shelving.models import Room, ShelfSlot, ShelvingUnit
from archive_service.shelving.placement import place
from tests.archive_service.test_life_events import received, record
from tests.archive_service.test_reading_room import READER, approved_request, material, new_file
from tests.archive_service.test_transfers import row

CLAUSE = "第八条(七)"


def died(client, login, dossier, years_ago: int, kind: str = "death") -> None:
    when = bureau_today() - timedelta(days=365 * years_ago + 30)
    r = record(client, login, dossier, kind=kind, occurred_on=str(when), source_document="死亡医学证明 No.2026-01")
    assert r.status_code == 201, r.text


def set_rule(client, login, state: str = "death", years=10, basis="本馆档案处置办法 第五条"):
    return client.put(f"/api/disposal/rules/{state}", json={"years": years, "basis": basis}, headers=login("admin"))


def second_approver(client) -> dict[str, str]:
    """A second approver of the bureau (the demo has one), signed in with its own second factor."""
    secret = pyotp.random_base32()
    with db.transaction() as session:
        first = session.scalar(select(User).where(User.username == "approver"))
        made = create_user(session, username="approver2", display_name="钱复核", password=DEMO_PASSWORD,
                           role=Role.approver, organisation_id=first.organisation_id)  # fmt: skip
        made.totp_secret, made.totp_enrolled_at = secret, db.utcnow()
    body = {"username": "approver2", "password": DEMO_PASSWORD, "code": pyotp.TOTP(secret).now()}
    r = client.post("/api/auth/login", json=body)
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['token']}"}


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_retention_rule_is_the_bureaus_setting_and_each_refusal_names_its_field_第八条七(client, login):
    """002 第八条(七) 处置: the years after each state are the bureau's setting (no seed names a number: without
    one nothing is due); refusals name the field; the change is on the access log."""
    assert [(r["state"], r["years"]) for r in client.get("/api/disposal/rules", headers=login("archivist")).json()] == [
        ("death", None), ("disappearance", None), ("emigration", None)]  # fmt: skip
    cases = [("death", 0, "依据", "years"), ("death", 101, "依据", "years"), ("married", 10, "依据", "state"),
             ("death", 10, " ", "basis")]  # fmt: skip
    for state, years, basis, field in cases:
        r = set_rule(client, login, state, years, basis)
        assert r.status_code == 422 and r.json()["field"] == field, (state, years, r.text)
    r = client.put("/api/disposal/rules/death", json={"years": 10, "basis": "x办法"}, headers=login("archivist"))
    assert r.status_code == 403 and "设定接收范围需系统管理员" in r.json()["message"]
    assert set_rule(client, login).status_code == 200
    page = client.get("/disposal", headers=login("admin")).text
    line = plain(page.split('data-state="death"')[1].split("</tr>")[0])
    assert "10 年" in line and "本馆档案处置办法 第五条" in line
    refused = client.post("/disposal/rules", data={"state": "death", "years": "十", "basis": "办法"},
                          headers=login("admin"))  # fmt: skip
    assert refused.status_code == 422 and "保管期限应为 1–100 年的整数" in refused.text
    with db.get_sessionmaker()() as s:
        details = s.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.action == "policy_changed")).all()
    assert "档案保管期限（死亡后）：未设期限 → 10 年（本馆档案处置办法 第五条）" in details


def test_only_files_past_the_retention_after_death_are_due_第八条七(client, login):
    """A file is due once the bureau's years after the recorded death have passed; a recent death, a living
    retiree and a state without a rule are not due. The list names the file, the state and its dates."""
    old, recent, alive, missing = received(client, login, row(81), row(82), row(83), row(84))
    died(client, login, old, 12)
    died(client, login, recent, 2)
    died(client, login, missing, 30, kind="disappearance")
    archivist = login("archivist")
    assert client.get("/api/disposal/due", headers=archivist).json() == []  # no rule: nothing is due
    assert set_rule(client, login).status_code == 200
    due = client.get("/api/disposal/due", headers=archivist).json()
    assert [d["archival_code"] for d in due] == [old.archival_code]
    (d,) = due
    with db.get_sessionmaker()() as s:
        death = s.get(Dossier, old.id).retiree.deceased_date
    assert (d["state_label"], d["state_on"], d["due_on"]) == ("死亡", str(death), str(disposal.add_years(death, 10)))
    assert d["can_be_listed"] is True
    page = client.get("/disposal", headers=archivist).text
    table = page.split('id="due-files"')[1].split("</table>")[0]
    assert old.archival_code in table and recent.archival_code not in table and alive.archival_code not in table
    assert f'value="{old.id}"' in table  # the archivist may tick it for a list


def test_drawing_up_a_list_refuses_files_not_due_naming_the_field_and_clause_第八条七(client, login):
    """Only files past their retention go on a 销毁清册 (002 第八条(七)); the refusal names the file, the field
    and the clause; the reason (鉴定意见) is required; an approver cannot draw one up; nothing half-saved."""
    due_one, not_due = received(client, login, row(85), row(86))
    died(client, login, due_one, 11)
    died(client, login, not_due, 1)
    assert set_rule(client, login).status_code == 200
    archivist = login("archivist")
    r = client.post("/api/disposal/lists", json={"dossier_ids": [due_one.id, not_due.id], "reason": "保管期满"},
                    headers=archivist)  # fmt: skip
    assert r.status_code == 409 and r.json()["field"] == "dossier_ids"
    assert not_due.archival_code in r.json()["message"] and CLAUSE in r.json()["message"]
    r = client.post("/api/disposal/lists", json={"dossier_ids": [due_one.id], "reason": " "}, headers=archivist)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.post("/api/disposal/lists", json={"dossier_ids": [], "reason": "保管期满"}, headers=archivist)
    assert r.status_code == 422 and r.json()["field"] == "dossier_ids" and CLAUSE in r.json()["message"]
    r = client.post("/api/disposal/lists", json={"dossier_ids": [due_one.id], "reason": "保管期满"},
                    headers=login("approver"))  # fmt: skip
    assert r.status_code == 403
    assert client.get("/api/disposal/lists", headers=archivist).json() == []  # nothing was saved
    page = client.post("/disposal/lists", data={"dossier_ids": [str(due_one.id)], "reason": ""}, headers=archivist)
    assert page.status_code == 422 and "请写明鉴定意见" in page.text


def _shelve_and_store(dossier: Dossier, other: Dossier, tmp_path: Path) -> tuple[list[str], str, int]:
    """The file on a shelf of the bureau's, with a use copy, a sidecar and page text; the other file holds the
    same bytes as the sidecar (the store is content-addressed). Returns (the file's own keys, the shared key,
    the slot id)."""
    store = adapters.open_store(get_settings())
    with db.transaction() as s:
        archivist = s.scalar(select(User).where(User.username == "archivist"))
        d, o = s.get(Dossier, dossier.id), s.get(Dossier, other.id)
        slot = s.scalars(
            select(ShelfSlot).join(ShelvingUnit).join(Room)
            .where(Room.organisation_id == archivist.organisation_id, ShelfSlot.id != (d.shelf_slot_id or 0),
                   ShelfSlot.used_volumes + 1 <= ShelfSlot.capacity_volumes)
            .order_by(ShelfSlot.id)
        ).first()  # fmt: skip
        place(s, archivist, d, slot)
        pdf, card = tmp_path / "copy.pdf", tmp_path / "copy.json"
        pdf.write_bytes(b"%PDF-1.7 disposal test " + str(d.id).encode() * 200)
        card.write_bytes(b'{"pages": [], "test": "shared sidecar"}')
        own = ingest(s, store, d, pdf, role="use_copy", name=f"{d.archival_code}.pdf", media_type="application/pdf")
        shared = ingest(s, store, d, card, role="sidecar", name=f"{d.archival_code}.json",
                        media_type="application/json")  # fmt: skip
        ingest(s, store, o, card, role="sidecar", name=f"{o.archival_code}.json", media_type="application/json")
        s.add(PageText(dossier_id=d.id, page=1, text="工资调整审批表"))
        return [own.storage_key], shared.storage_key, slot.id


def test_a_list_needs_two_signers_besides_its_drawer_and_carrying_out_accounts_for_paper_and_digital_第八条七(
    client, login, tmp_path
):
    """002 第八条(七) 处置, nothing disposed by one person: a list drawn up by the archivist is carried out only
    after two different approvers sign it (one twice does not count; no role may both draw and sign). Carrying
    out takes the paper off its slot by a 销毁 custody event, removes the file's digital objects from the store
    (an object another file shares stays), keeps their records with checksums, drops the page text; fixity
    checks skip what was destroyed. Each step is on the access log; the list is kept forever and exported."""
    assert not any({Action.dispose_files, Action.sign_disposal} <= grants for grants in GRANTS.values())
    gone, keep = received(client, login, row(87), row(88))
    died(client, login, gone, 15)
    assert set_rule(client, login).status_code == 200
    own_keys, shared_key, slot_id = _shelve_and_store(gone, keep, tmp_path)
    with db.get_sessionmaker()() as s:
        used_before = s.get(ShelfSlot, slot_id).used_volumes
    archivist, approver = login("archivist"), login("approver")

    form = {"dossier_ids": [str(gone.id)], "reason": "经鉴定保管期满，无继续保存价值"}
    drawn = client.post("/disposal/lists", data=form, headers=archivist, follow_redirects=False)
    assert drawn.status_code == 303, drawn.text
    list_id = int(drawn.headers["location"].rsplit("/", 1)[1])
    number = client.get(f"/api/disposal/lists/{list_id}", headers=archivist).json()["number"]
    due = client.get("/api/disposal/due", headers=archivist).json()
    assert [(d["on_list"], d["can_be_listed"]) for d in due if d["dossier_id"] == gone.id] == [(number, False)]
    again = client.post("/api/disposal/lists", json={"dossier_ids": [gone.id], "reason": "重复"}, headers=archivist)
    assert again.status_code == 409 and number in again.json()["message"]

    early = client.post(f"/api/disposal/lists/{list_id}/carry-out", headers=archivist)
    assert early.status_code == 409 and early.json()["field"] == "list_id"
    assert "尚未经两人签批（已签批 0 人）" in early.json()["message"] and CLAUSE in early.json()["message"]
    assert client.post(f"/api/disposal/lists/{list_id}/signatures", json={"opinion": "同意"},
                       headers=archivist).status_code == 403  # fmt: skip
    no_opinion = client.post(f"/api/disposal/lists/{list_id}/signatures", json={"opinion": ""}, headers=approver)
    assert no_opinion.status_code == 422 and no_opinion.json()["field"] == "opinion"
    first = client.post(f"/disposal/lists/{list_id}/sign", data={"opinion": "同意销毁"}, headers=approver)
    assert first.status_code == 200 and "待签批" in plain(first.text.split('id="list-status"')[1].split("</dd>")[0])
    twice = client.post(f"/api/disposal/lists/{list_id}/signatures", json={"opinion": "同意"}, headers=approver)
    assert (
        twice.status_code == 409 and twice.json()["code"] == "list.signed_twice" and CLAUSE in twice.json()["message"]
    )
    one = client.post(f"/api/disposal/lists/{list_id}/carry-out", headers=archivist)
    assert one.status_code == 409 and "已签批 1 人" in one.json()["message"]
    with db.get_sessionmaker()() as s:
        assert s.get(Dossier, gone.id).status.label == "在馆"  # nothing happened on one signature
    second = client.post(f"/api/disposal/lists/{list_id}/signatures", json={"opinion": "同意销毁"},
                         headers=second_approver(client))  # fmt: skip
    assert second.status_code == 200 and second.json()["status_label"] == "已批准，待销毁"
    assert [x["signed_by"] for x in second.json()["signatures"]] == ["赵审批", "钱复核"]

    done = client.post(f"/disposal/lists/{list_id}/carry-out", headers=archivist)
    assert done.status_code == 200, done.text
    shown = plain(done.text)
    assert plain(done.text.split('id="list-status"')[1].split("</dd>")[0]).strip(" >") == "已销毁"
    assert "赵审批" in shown and "钱复核" in shown
    entry = plain(done.text.split(f'data-archival-code="{gone.archival_code}"')[1].split("</tr>")[0])
    assert entry.split()[-1] == "1"  # one object removed: the shared sidecar stays with the other file
    store = adapters.open_store(get_settings())
    assert not any(store.exists(k) for k in own_keys) and store.exists(shared_key)
    with db.get_sessionmaker()() as s:
        d = s.get(Dossier, gone.id)
        assert (d.status.label, d.shelf_slot_id) == ("已销毁", None)
        assert s.get(ShelfSlot, slot_id).used_volumes == used_before - 1
        event = s.scalars(select(CustodyEvent).where(CustodyEvent.dossier_id == gone.id)
                          .order_by(CustodyEvent.id.desc())).first()  # fmt: skip
        assert (event.kind, event.from_slot_id) == (CustodyEventKind.disposed, slot_id) and number in event.note
        assert set(s.scalars(select(ObjectDeletion.storage_key))) >= set(own_keys)
        assert shared_key not in set(s.scalars(select(ObjectDeletion.storage_key)))
        kept = s.scalars(select(DigitalObject.storage_key).where(DigitalObject.dossier_id == gone.id)).all()
        assert set(own_keys) <= set(kept)  # the record of what was destroyed stays, with its checksum
        assert s.scalar(select(func.count()).select_from(PageText).where(PageText.dossier_id == gone.id)) == 0
        logged = select(AccessLogEntry.action, AccessLogEntry.dossier_id, AccessLogEntry.detail)
        actions = s.execute(logged.where(AccessLogEntry.action.like("disposal_%")).order_by(AccessLogEntry.seq)).all()
        assert [a for a, _, _ in actions] == ["disposal_drawn", "disposal_signed", "disposal_signed",
                                              "disposal_carried_out"]  # fmt: skip
        assert actions[-1][1] == gone.id and gone.archival_code in actions[0][2]
    report = check_fixity(db.get_sessionmaker(), store)
    with db.get_sessionmaker()() as s:
        checked = set(s.scalars(select(FixityCheck.storage_key).where(FixityCheck.run_id == report.run_id)))
    assert not checked & set(own_keys) and shared_key in checked
    assert not {k for k, _ in report.failures} & set(own_keys)

    # The dossier page still opens, saying what happened; requests and the copy are closed.
    page = client.get(f"/dossiers/{gone.id}", headers=archivist)
    assert page.status_code == 200 and "已销毁" in page.text and number in page.text
    assert client.get(f"/dossiers/{gone.id}/copy.pdf", headers=archivist).status_code == 404
    again = client.post(f"/api/disposal/lists/{list_id}/carry-out", headers=archivist)
    assert again.status_code == 409 and again.json()["code"] == "list.carried_out"

    book = client.get(f"/disposal/lists/{list_id}.xlsx", headers=login("auditor"))
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content)).active
    cells = [[c for c in r if c is not None] for r in sheet.iter_rows(values_only=True)]
    assert number in cells[0][0] and any(r[:2] == ["状态", "已销毁"] for r in cells)
    assert any("赵审批" in r[1] and "钱复核" in r[1] for r in cells if r and r[0] == "签批")
    assert [r[1] for r in cells if r and r[0] == 1] == [gone.archival_code]

    # Kept forever: no route removes a list, and the database refuses it.
    assert client.delete(f"/api/disposal/lists/{list_id}", headers=archivist).status_code == 405
    with pytest.raises(DBAPIError), db.transaction() as s:
        s.execute(delete(DisposalList).where(DisposalList.id == list_id))
    with db.get_sessionmaker()() as s:
        assert s.scalar(text("SELECT count(*) FROM disposal_list WHERE id = :i"), {"i": list_id}) == 1


def test_a_file_out_in_the_reading_room_is_not_destroyed_until_it_is_back_第八条七(client, login):
    """晋宁 第八条(七) 管理与处置: the paper must be on its slot to be destroyed — an approved list whose file is out
    in the 阅档室 for a 到馆查阅 is refused naming the list, and nothing is destroyed; back on its slot, it goes."""
    file = new_file(client, login, serial=741)
    request = approved_request(client, login, file)
    archivist = login("archivist")
    reading = client.post(f"/api/requests/{request['id']}/readings", json={"reader_citizen_id": READER},
                          headers=archivist).json()  # fmt: skip
    produced = client.post(f"/api/readings/{reading['id']}/materials", json={"materials": [material(file, "1")]},
                           headers=archivist)  # fmt: skip
    assert produced.is_success, produced.text
    with db.get_sessionmaker()() as s:
        dossier = s.get(Dossier, file["id"])
    died(client, login, dossier, 12)
    assert set_rule(client, login).status_code == 200
    listing = client.post("/api/disposal/lists", json={"dossier_ids": [file["id"]], "reason": "保管期满"},
                          headers=archivist).json()  # fmt: skip
    for who in (login("approver"), second_approver(client)):
        r = client.post(f"/api/disposal/lists/{listing['id']}/signatures", json={"opinion": "同意销毁"}, headers=who)
        assert r.status_code == 200, r.text
    refused = client.post(f"/api/disposal/lists/{listing['id']}/carry-out", headers=archivist)
    assert refused.status_code == 409 and (refused.json()["code"], refused.json()["field"]) == (
        "dossier.in_reading", "list_id")  # fmt: skip
    assert "正在阅档室查阅" in refused.json()["message"] and file["archival_code"] in refused.json()["message"]
    with db.get_sessionmaker()() as s:
        assert s.get(Dossier, file["id"]).status.label == "在馆"
    ended = client.post(f"/api/readings/{reading['id']}/end", json={"complete": True}, headers=archivist)
    assert ended.is_success, ended.text
    done = client.post(f"/api/disposal/lists/{listing['id']}/carry-out", headers=archivist)
    assert done.status_code == 200 and done.json()["status_label"] == "已销毁"

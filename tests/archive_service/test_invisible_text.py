"""Characters nobody can see — NUL and other controls, zero-width spaces, direction overrides, a byte-order
mark — are refused in every field people type, with the field named, the same on both databases. Before,
PostgreSQL refused NUL with a 422 that named no field ("数值或文字超出允许的范围"), SQLite stored it in a
catalogue title, and a register name holding a zero-width space was taken and then never found by a search
for the name as typed. Tabs and line breaks stay allowed, and so do the characters of rare names (CJK
extensions, the private-use area some name-input systems still use)."""

import pytest
from sqlalchemy import func, select

from archive_service import db
from archive_service.access.models import RetrievalRequest
from archive_service.dossiers.models import Material
from tests.archive_service.test_forms_keep_values import _cookie_login, forms_of
from tests.archive_service.test_hostile_files import _batches, _enterprise
from tests.archive_service.test_requests import form, submit
from tests.archive_service.test_transfers import as_csv, row

ZERO_WIDTH, OVERRIDE = "\u200b", "\u202e"


def _count(model) -> int:  # type: ignore[no-untyped-def]
    with db.get_sessionmaker()() as session:
        return session.scalar(select(func.count()).select_from(model))


def _refused(r, field: str, character: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "text.invisible_character" and body["field"] == field, body
    assert f"U+{ord(character):04X}" in body["message"], body


def test_api_fields_are_refused_by_name_and_nothing_is_saved(client, login, digitised):
    archivist, clerk = login("archivist"), login("clerk")
    requests_before, materials_before = _count(RetrievalRequest), _count(Material)
    _refused(submit(client, login, digitised, purpose_detail="核对\x00工龄"), "purpose_detail", "\x00")
    _refused(submit(client, login, digitised, reader_name=f"李{ZERO_WIDTH}社保"), "reader_name", ZERO_WIDTH)
    _refused(client.get("/api/dossiers", params={"q": f"张{OVERRIDE}三"}, headers=archivist), "q", OVERRIDE)
    materials = client.get(f"/api/dossiers/{digitised.id}/catalogue", headers=archivist).json()["materials"]
    rows = [{"id": m["id"], "class_code": m["class_code"], "title": m["title"], "pages": m["pages"]} for m in materials]
    rows[1]["title"] += "\x00"
    r = client.put(f"/api/dossiers/{digitised.id}/catalogue", json={"materials": rows}, headers=archivist)
    _refused(r, "materials.1.title", "\x00")
    fields = {"archival_code": digitised.archival_code, "source": "原企业", "class_code": "9",
              "title": "\ufeff补充表", "pages": "1"}  # fmt: skip
    _refused(client.post("/api/supplements", data=fields, headers=clerk), "title", "\ufeff")
    assert (_count(RetrievalRequest), _count(Material)) == (requests_before, materials_before)
    # What people do type still goes through: line breaks in a note, a rare name's characters.
    ok = submit(client, login, digitised, purpose_detail="核对工龄\n第二行", reader_name="\U00020000\ue000")
    assert ok.status_code == 201, ok.text


def test_a_register_row_is_refused_by_row_and_column(client, login):
    clerk = login("clerk")
    before = _batches()
    sheet = as_csv(
        [row(901), row(902, 姓名=f"张{ZERO_WIDTH}三"), row(903, 缺失材料="档案袋\x07破损", 缺失材料证明="是")]
    )
    r = client.post("/api/transfers", data={"enterprise_id": _enterprise(client, clerk)},
                    files={"file": ("名册.csv", sheet, "text/csv")}, headers=clerk)  # fmt: skip
    assert r.status_code == 422, r.text
    found = [(p["row"], p["column"], p["code"]) for p in r.json()["problems"]]
    assert found == [(3, "姓名", "text.invisible_character"), (4, "缺失材料", "text.invisible_character")], found
    assert _batches() == before


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # page behaviour, not a database rule
def test_a_page_form_comes_back_with_the_field_named_and_everything_kept(client, digitised):
    _cookie_login(client, "sibao")
    sent = {k: v for k, v in form(digitised).items() if k != "material_classes"}
    sent["reader_name"] = f"周{ZERO_WIDTH}某"
    before = _count(RetrievalRequest)
    r = client.post("/requests", data=sent, follow_redirects=False)
    assert r.status_code == 422 and 'action="/requests"' in r.text, r.text[:300]
    assert "U+200B" in r.text and 'role="alert"' in r.text
    kept = forms_of(r.text)["/requests"]
    assert kept["reader_name"] == [sent["reader_name"]] and kept["purpose_detail"] == [sent["purpose_detail"]]
    assert _count(RetrievalRequest) == before
    # The catalogue form names the row and the field, as for any other problem of a row.
    _cookie_login(client, "archivist")
    page = forms_of(client.get(f"/dossiers/{digitised.id}").text)[f"/dossiers/{digitised.id}/catalogue"]
    typed = {k: list(v) for k, v in page.items()}
    typed["title"][0] = f"职工{OVERRIDE}履历表"
    r = client.post(f"/dossiers/{digitised.id}/catalogue", data=typed, follow_redirects=False)
    assert r.status_code == 422 and "U+202E" in r.text, r.text[:300]
    assert forms_of(r.text)[f"/dossiers/{digitised.id}/catalogue"]["title"][0] == typed["title"][0]
    # The login page too: refused on the login page, not with a database error.
    client.cookies.clear()
    r = client.post("/login", data={"username": "clerk\x00", "password": "x"}, follow_redirects=False)
    assert r.status_code == 422 and 'action="/login"' in r.text and "U+0000" in r.text

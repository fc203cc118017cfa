"""材料补充: a material formed after handover is submitted with its scans, reviewed by an archivist, and
added to the catalogue in its class (nothing replaced); a digitised dossier gets a new use copy with the
new pages at the material's place, built from the kept masters (none re-stored) plus the new scans."""

import orjson
from PIL import Image
from sqlalchemy import func, select

from archive_service import db
from archive_service.adapters import open_store
from archive_service.config import get_settings
from archive_service.dossiers.models import DigitalObject, Dossier, Material
from archive_service.transfers import supplements
from archive_service.transfers.models import SupplementStatus
from tests.archive_service.conftest import SCAN_DIR, blank_scans
from tests.archive_service.test_transfers import error_of, user
from tests.rendering import assert_pages_look_like


def form(code: str, **overrides) -> supplements.SupplementForm:
    values = dict(
        archival_code=code, source="西城区社会保险事业管理中心", class_code="4", title="退休待遇调整审批表",
        pages=2, date_formed="2025", remarks="",
    )  # fmt: skip
    values.update(overrides)
    return supplements.SupplementForm(**values)


def test_bad_submissions_name_the_field(engine, demo, digitised):
    store = open_store(get_settings())
    with db.transaction() as session:
        clerk = user(session, "clerk")
        code = digitised.archival_code
        submit = lambda f, scans=blank_scans(2): lambda: supplements.submit(session, store, clerk, f, scans)  # noqa: E731
        assert error_of(submit(form(code, class_code="11"))).field == "class_code"
        assert error_of(submit(form(code, source=""))).field == "source"
        assert error_of(submit(form(code, date_formed="2025-13"))).field == "date_formed"
        assert error_of(submit(form(code, pages=3))).code == "scans.page_count"
        assert error_of(submit(form(code), ())).code == "scans.required"  # a digitised file needs its scans
        fake = SCAN_DIR / "not-an-image.tif"
        fake.write_bytes(b"MZ\x90\x00 this is an executable")
        assert error_of(submit(form(code, pages=1), (fake,))).field == "scans"
        assert error_of(submit(form("J102-RS-999999"))).status == 404
        assert session.scalar(select(func.count()).select_from(supplements.MaterialSupplement)) == 0


def test_an_approved_supplement_joins_the_catalogue_and_the_digitised_copy(engine, demo, digitised_short):
    store = open_store(get_settings())
    with db.transaction() as session:
        clerk, archivist = user(session, "clerk"), user(session, "archivist")
        dossier = session.get(Dossier, digitised_short.id)
        before = {m.id: (m.sequence, m.title) for m in dossier.materials}
        masters_before = session.scalar(
            select(func.count()).where(DigitalObject.dossier_id == dossier.id, DigitalObject.role == "master_image")
        )
        pages_before = dossier.pages
        new_scans = tuple(blank_scans(2, dpi=300))  # different files from the dossier's own scans
        supplement = supplements.submit(session, store, clerk, form(dossier.archival_code), new_scans)
        assert supplement.status is SupplementStatus.submitted and len(supplement.scan_names) == 2
        # Only an archivist decides; a refusal needs a reason.
        assert error_of(lambda: supplements.review(session, store, clerk, supplement.id, True)).status == 403
        assert error_of(lambda: supplements.review(session, store, archivist, supplement.id, False)).field == "note"
        supplements.review(session, store, archivist, supplement.id, True, work_root=SCAN_DIR / "supplement-work")
        assert supplement.status is SupplementStatus.approved
        assert error_of(lambda: supplements.review(session, store, archivist, supplement.id, True)).status == 409

        session.expire_all()
        dossier = session.get(Dossier, digitised_short.id)
        added = session.get(Material, supplement.material_id)
        assert added.added_after_handover and added.material_class.code == "4" and added.title == "退休待遇调整审批表"
        # Nothing existing was replaced or renumbered.
        assert {m.id: (m.sequence, m.title) for m in dossier.materials if m.id != added.id} == before
        assert dossier.pages == pages_before + 2
        copies = session.scalars(
            select(DigitalObject)
            .where(DigitalObject.dossier_id == dossier.id, DigitalObject.role == "use_copy")
            .order_by(DigitalObject.version)
        ).all()
        assert [c.version for c in copies] == [1, 2] and copies[1].pages == copies[0].pages + 2
        # The rebuilt copy looks like its scans (all blank sheets here), page for page.
        rebuilt = b"".join(store.open(copies[1].storage_key))
        assert_pages_look_like(rebuilt, [Image.open(blank_scans(1)[0])] * copies[1].pages)
        masters = session.scalars(
            select(DigitalObject).where(DigitalObject.dossier_id == dossier.id, DigitalObject.role == "master_image")
        ).all()
        assert len(masters) == masters_before + 2 and all(m.version == 1 for m in masters)  # none stored again
        # The new pages sit at the material's place in catalogue order, and the linkage is unbroken.
        ordered = sorted(dossier.materials, key=lambda m: m.sort_key)
        expected = 1
        for m in ordered:
            assert m.first_page == expected, m.sequence
            expected = m.last_page + 1
        assert expected - 1 == copies[1].pages
        sidecar = session.scalars(
            select(DigitalObject)
            .where(DigitalObject.dossier_id == dossier.id, DigitalObject.role == "sidecar")
            .order_by(DigitalObject.version.desc())
        ).first()
        pages = orjson.loads(b"".join(store.open(sidecar.storage_key)))["pages"]
        new_names = {m.name for m in masters if m.name > f"{dossier.archival_code}-{masters_before:04d}.tif"}
        at_material = [p["source"] for p in pages[added.first_page - 1 : added.last_page]]
        assert set(at_material) == new_names and len(at_material) == 2
        assert added.first_page < copies[1].pages - 1 or ordered[-1].id == added.id
        # The catalogue can be corrected, but the reviewed supplement cannot be dropped from it.
        from archive_service.dossiers.catalogue import save_catalogue

        others = [
            {"id": m.id, "class_code": m.material_class.code, "title": m.title, "pages": m.pages}
            for m in ordered
            if m.id != added.id
        ]
        refused = error_of(lambda: save_catalogue(session, store, archivist, dossier, others))
        assert [p["code"] for p in refused.problems] == ["material.supplement_kept"]
        assert "退休待遇调整审批表" in refused.problems[0]["message"]


def test_a_rejected_supplement_changes_nothing_but_is_kept(engine, demo, digitised):
    store = open_store(get_settings())
    with db.transaction() as session:
        dossier = session.get(Dossier, digitised.id)
        count = len(dossier.materials)
        s = supplements.submit(session, store, user(session, "clerk"), form(dossier.archival_code), blank_scans(2))
        supplements.review(session, store, user(session, "archivist"), s.id, False, "非本人材料")
        session.expire_all()
        assert len(session.get(Dossier, digitised.id).materials) == count
        assert supplements.get(session, user(session, "archivist"), s.id).review_note == "非本人材料"
        assert supplements.waiting(session, user(session, "archivist")) == []


def test_supplements_through_the_api_and_the_dossier_page(client, login):
    clerk, archivist = login("clerk"), login("archivist")
    dossier = client.get("/api/dossiers?status=in_custody", headers=clerk).json()["items"][0]
    fields = {
        "archival_code": dossier["archival_code"],
        "source": "原企业",
        "class_code": "9",
        "title": "二〇二五年养老金核定补充表",
        "pages": "1",
        "date_formed": "202501",
    }
    bad = client.post("/api/supplements", data={**fields, "class_code": "99"}, headers=clerk)
    assert bad.status_code in (400, 422) and bad.json()["field"] == "class_code"
    scan = blank_scans(1)[0].read_bytes()
    made = client.post(
        "/api/supplements", data=fields, files=[("scans", ("p1.tif", scan, "image/tiff"))], headers=clerk
    )
    assert made.status_code == 201 and made.json()["status"] == "submitted"
    assert [s["id"] for s in client.get("/api/supplements", headers=archivist).json()] == [made.json()["id"]]
    assert "待审核的材料补充（1）" in client.get("/transfers", headers=archivist).text
    page = client.get(f"/dossiers/{dossier['id']}", headers=archivist).text
    assert "二〇二五年养老金核定补充表" in page and "审核归档" in page
    assert (
        client.post(f"/api/supplements/{made.json()['id']}/review", json={"approve": True}, headers=clerk).status_code
        == 403
    )
    done = client.post(f"/api/supplements/{made.json()['id']}/review", json={"approve": True}, headers=archivist)
    assert done.status_code == 200 and done.json()["material_id"]
    detail = client.get(f"/api/dossiers/{dossier['id']}", headers=archivist).json()
    added = [m for m in detail["materials"] if m["title"] == "二〇二五年养老金核定补充表"]
    assert len(added) == 1 and added[0]["class_code"] == "9"

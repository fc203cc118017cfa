"""Fewer pages digitised than registered (issue 36, item 5): without a catalogue the register's page count is
what the scans are held to (DA/T 31's scan register). A mismatch is a QC warning on the copy, shown on the
dossier page, and the file stays on the 待数字化 list until it is digitised again with pages that agree, or an
archivist counts the paper and records why the register differs — pages missing from the scans cannot be
explained away. Records made here: a new enterprise, its register, scans drawn by the test."""

from tests.archive_service.test_catalogue_path import new_enterprise
from tests.archive_service.test_mixed_batch import digitise
from tests.archive_service.test_transfers import as_xlsx, row

ENTERPRISE = "北京新华纺织机械厂"  # new_enterprise's


def waiting(client, archivist) -> int:
    backlog = client.get("/api/digitisation/backlog", headers=archivist).json()
    return {e["enterprise"]: e["files"] for e in backlog["by_enterprise"]}.get(ENTERPRISE, 0)


def pending_list(client, archivist, name: str, dossier_id: int) -> bool:
    """Whether the dossier list's 仅待数字化 shows the retiree's file."""
    listed = client.get("/dossiers", params={"digitisation": "pending", "q": name}, headers=archivist).text
    return f'href="/dossiers/{dossier_id}"' in listed


def test_a_copy_with_fewer_pages_than_registered_stays_on_the_backlog_until_resolved(client, login):
    clerk, archivist = login("clerk"), login("archivist")
    enterprise = new_enterprise(client, login)
    register = as_xlsx([row(86, 姓名="陶建华", 页数=20), row(87, 姓名="章淑珍", 页数=3)])
    created = client.post(
        "/api/transfers", data={"enterprise_id": enterprise}, files={"file": ("名册.xlsx", register)}, headers=clerk
    )
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    tao, zhang = (
        client.post(f"/api/transfers/{batch_id}/receive", json={"key": i["citizen_id"]}, headers=clerk).json()[
            "dossier_id"
        ]
        for i in created.json()["items"]
    )
    assert waiting(client, archivist) == 2

    # 陶建华's file, registered with 20 pages, digitised from one scan: a warning, and it stays on the list.
    digitise(client, archivist, tao, pages=1)
    page = client.get(f"/dossiers/{tao}", headers=archivist).text
    assert 'data-code="page_count.register"' in page and "页数与接收登记不符" in page
    assert 'id="page-count-open"' in page and "接收登记 20 页，数字化 1 页" in page and 'id="page-count-form"' in page
    assert waiting(client, archivist) == 2 and pending_list(client, archivist, "陶建华", tao)

    # 章淑珍's, registered with 3, first from 2 scans (on the list), then again from 3 (off it).
    digitise(client, archivist, zhang, pages=2)
    assert waiting(client, archivist) == 2 and pending_list(client, archivist, "章淑珍", zhang)
    digitise(client, archivist, zhang, pages=3)
    assert waiting(client, archivist) == 1 and not pending_list(client, archivist, "章淑珍", zhang)
    page = client.get(f"/dossiers/{zhang}", headers=archivist).text
    assert 'id="page-count-check"' not in page and 'data-code="page_count.register"' not in page

    # The archivist counts 陶建华's paper. Missing pages cannot be explained away; a reason is needed; a clerk
    # cannot do it.
    def explain(pages, reason, who=archivist):
        return client.post(f"/api/dossiers/{tao}/page-count", json={"pages": pages, "reason": reason}, headers=who)

    refused = explain(20, "名册页数填写有误")
    assert (refused.status_code, refused.json()["field"]) == (422, "pages") and "须补扫" in refused.json()["message"]
    assert explain(1, "误填").json()["field"] == "reason"
    assert explain(1, "名册页数填写有误", who=clerk).status_code == 403
    assert waiting(client, archivist) == 1
    done = explain(1, "名册页数填写有误，纸质档案实有 1 页")
    assert done.status_code == 200, done.text
    assert done.json()["resolution"] == "explained" and done.json()["registered"] == 20
    assert waiting(client, archivist) == 0 and not pending_list(client, archivist, "陶建华", tao)
    page = client.get(f"/dossiers/{tao}", headers=archivist).text
    assert 'id="page-count-open"' not in page and "核对纸质档案实有 <b>1</b> 页" in page
    assert "名册页数填写有误" in page
    assert client.get(f"/api/dossiers/{tao}", headers=archivist).json()["pages"] == 1  # the count on record
    # Nothing left to explain.
    assert explain(1, "名册页数填写有误").status_code == 409

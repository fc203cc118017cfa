"""Intake statistics per enterprise and month (expected, received, rejected, digitised) and their .xlsx
export; a register entered on the page (pasted from a spreadsheet)."""

import io
from datetime import UTC, datetime, timedelta, timezone

from openpyxl import load_workbook

from archive_service import db
from archive_service.transfers import receiving, register, statistics
from archive_service.transfers.models import ItemResult
from tests.archive_service.test_acceptance import received_and_digitised
from tests.archive_service.test_transfers import error_of, new_batch, row, user
from tests.archive_service.test_transfers_api import enterprise_id

ENTERPRISE = "北京红星电子仪器厂"


def this_month() -> str:
    return f"{datetime.now(UTC).astimezone(timezone(timedelta(hours=8))):%Y-%m}"


def figures(session, who="clerk", year=None):
    rows = statistics.statistics(session, user(session, who), year)
    return {(r.enterprise, r.month): (r.expected, r.received, r.rejected, r.digitised) for r in rows}


def test_statistics_count_each_enterprise_by_month(engine, demo):
    with db.transaction() as session:
        before = figures(session).get((ENTERPRISE, this_month()), (0, 0, 0, 0))
        received_and_digitised(session, rows=2, digitise=1)  # 2 rows: both received, one digitised
        batch = new_batch(session, [row(n) for n in range(11, 14)])  # 3 more: one rejected, two waiting
        receiving.receive(
            session, user(session, "clerk"), batch.id, receiving.Check("#11", ItemResult.rejected, "卷皮破损")
        )
        after = figures(session, year=datetime.now(UTC).year)[ENTERPRISE, this_month()]
        assert [a - b for a, b in zip(after, before, strict=True)] == [5, 2, 1, 1]
        assert figures(session, year=2001) == {}
        assert error_of(lambda: statistics.statistics(session, user(session, "clerk"), 1900)).field == "year"
        assert (ENTERPRISE, this_month()) not in figures(session, who="dongcheng")  # another bureau's


def test_statistics_export_reads_back(client, login):
    headers = login("clerk")
    listed = client.get("/api/transfers/statistics", headers=headers).json()
    assert any(r["enterprise"] == ENTERPRISE and r["expected"] >= 12 for r in listed)
    r = client.get("/api/transfers/statistics.xlsx", headers=headers)
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("企业", "月份", "应移交（名册）", "已接收", "退回", "已数字化")
    assert rows[-1][0] == "合计" and rows[-1][2] == sum(x["expected"] for x in listed)
    assert client.get("/api/transfers/statistics?year=99", headers=headers).json()["field"] == "year"


def test_a_register_pasted_on_the_page(client, login):
    headers = login("clerk")
    eid = enterprise_id(client, headers)
    header = "\t".join(register.HEADERS)
    good = [row(61), row(62)]
    text = "\n".join([header, *("\t".join(str(r[h]) for h in register.HEADERS) for r in good)])
    bad = text + "\n" + "\t".join(str(v) for v in row(63, 领导人员="是").values())
    refused = client.post("/transfers/pasted", data={"enterprise_id": eid, "rows": bad}, headers=headers)
    assert refused.status_code == 422 and "领导人员" in refused.text
    assert "移交63" in refused.text  # what the clerk pasted is shown again, not lost
    made = client.post(
        "/transfers/pasted", data={"enterprise_id": eid, "rows": text}, headers=headers, follow_redirects=False
    )
    assert made.status_code == 303
    batch = client.get("/api/" + made.headers["location"].lstrip("/"), headers=headers).json()
    assert [i["retiree_name"] for i in batch["items"]] == ["移交61", "移交62"]

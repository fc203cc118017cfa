"""统计报表 (001 第十七条; 004 第五条 情况收集、分析和报告): a month's report counts exactly what the test
did in it — files received, a death recorded, a request approved and served, a file sent on — and the
page and its .xlsx show the same figures; a period that is not one is refused by name."""

import io
import re
from datetime import date, timedelta

from openpyxl import load_workbook

from archive_service import db
from archive_service.access.service import purposes
from archive_service.db import bureau_today
from archive_service.dossiers.life_events import record_life_event
from archive_service.dossiers.models import DossierStatus
from archive_service.dossiers.service import dashboard_counts
from archive_service.reports import service as reports
from archive_service.transfers import onward, receiving
from tests.archive_service.test_acceptance import received_and_digitised
from tests.archive_service.test_requests import submit
from tests.archive_service.test_transfer_statistics import ENTERPRISE
from tests.archive_service.test_transfers import error_of, user


def figures(session, who: str, period: str) -> dict[tuple[str, str], int]:
    r = reports.report(session, user(session, who), reports.parse_period(period))
    return {(title.split("（")[0], item): n for title, rows in reports.sections(r) for item, n in rows}


def change(after: dict, before: dict) -> dict:
    return {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}


def test_the_months_report_counts_what_was_done_in_it(client, login, digitised):
    month = f"{bureau_today():%Y-%m}"
    with db.get_sessionmaker()() as session:
        before = figures(session, "archivist", month)
        before_year = figures(session, "archivist", month[:4])
        before_dongcheng = figures(session, "dongcheng", month)
    with db.transaction() as session:
        archivist = user(session, "archivist")
        _, (kept, moved) = received_and_digitised(session, rows=2, digitise=0)
        record_life_event(session, archivist, kept.id, "death", bureau_today(), "死亡医学证明 No.2026-001")
        batch = onward.send_onward(
            session, archivist, user(session, "dongcheng").organisation_id, [moved.archival_code], "户籍迁至东城区"
        )
        receiving.receive(session, user(session, "dongcheng"), batch.id, receiving.Check("#1"))
    asked = submit(
        client, login, digitised, purpose="judicial", mode="paper_loan",
        valid_until=(bureau_today() + timedelta(days=13)).isoformat(),
    )  # fmt: skip
    rid = asked.json()["id"]
    assert client.post(f"/api/requests/{rid}/decision", json={"approve": True}, headers=login("approver")).is_success
    assert client.post(f"/api/requests/{rid}/loan", headers=login("archivist")).is_success
    assert client.post(f"/api/requests/{rid}/return", json={"complete": True}, headers=login("archivist")).is_success

    with db.get_sessionmaker()() as session:
        after = figures(session, "archivist", month)
        judicial = purposes()["judicial"].label
        assert change(after, before) == {
            ("馆藏档案", DossierStatus.in_custody.label): 1,  # two received, one of them gone on
            ("馆藏档案", DossierStatus.transferred_out.label): 1,
            ("接收移交", ENTERPRISE): 2,
            ("接收移交", "合计"): 2,
            ("利用目的", judicial): 1,
            ("利用目的", "合计"): 1,
            ("利用方式", "借阅原件"): 1,
            ("利用方式", "合计"): 1,
            ("转递", "转出（送往其他档案馆）"): 1,
            ("人员状态", "登记死亡"): 1,
            ("数字化", "待数字化（截至今日）"): 1,  # the file kept is on paper only; the other went on
        }
        dongcheng = change(figures(session, "dongcheng", month), before_dongcheng)
        assert dongcheng[("转递", "转入（自其他档案馆接收）")] == 1
        # This month's holdings are the dashboard's, read back from the custody events.
        counts = dashboard_counts(session, user(session, "archivist"))
        assert {item: n for (title, item), n in after.items() if title == "馆藏档案"} == {
            s.label: counts[s.value] for s in DossierStatus
        }
        # The year's report counts the same.
        assert change(figures(session, "archivist", month[:4]), before_year) == change(after, before)

    headers = login("archivist")
    page = client.get(f"/reports?period={month}", headers=headers)
    assert page.status_code == 200 and 'href="/reports"' in page.text
    shown = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td></tr>", page.text)
    workbook = client.get(f"/reports/{month}.xlsx", headers=headers)
    assert workbook.status_code == 200
    rows = list(load_workbook(io.BytesIO(workbook.content)).active.iter_rows(values_only=True))
    assert rows[1] == ("项目", "明细", "数量")
    assert [(item, str(n)) for _, item, n in rows[2:]] == shown and len(shown) == len(after)
    assert all(isinstance(item, str) and isinstance(n, int) for _, item, n in rows[2:])


def test_a_period_that_is_not_one_is_refused_by_name(client, login):
    today = bureau_today()
    for bad, words in (
        ("2026-13", "月份应在 01–12"),
        ("3月", "年月"),
        (f"{today.year + 1}-01", "尚未开始"),
        ("1999", "2000"),
    ):
        refused = error_of(lambda bad=bad: reports.parse_period(bad, today))
        assert refused.field == "period" and words in refused.message
    assert reports.parse_period("2026-02", date(2026, 2, 1)).bounds[0].isoformat() == "2026-01-31T16:00:00+00:00"
    headers = login("archivist")
    page = client.get("/reports?period=2026-13", headers=headers)
    assert page.status_code == 422 and "报表期间的月份应在 01–12 之间" in page.text
    assert client.get("/reports/2026-13.xlsx", headers=headers).status_code == 422
    assert client.get("/reports", headers=login("sibao")).status_code == 403

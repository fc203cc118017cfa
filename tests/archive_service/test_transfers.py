"""Intake from an enterprise's register on SQLite and PostgreSQL: every bad row reported at once and
nothing saved, receiving without double counting (two clerks at once), both confirmations, the receipt
and its manifest hash (tampering found), the custody chain of what was received."""

import csv
import io
import subprocess
import sys
import threading
from datetime import date

import pytest
from sqlalchemy import func, select, update

from archive_service import db
from archive_service.auth.models import User
from archive_service.demo import XICHENG, citizen_id
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, Dossier, Particulars
from archive_service.errors import ArchiveError
from archive_service.organisations.jurisdiction import JurisdictionRule
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.transfers import intake, receipt, receiving, register
from archive_service.transfers import service as transfers
from archive_service.transfers.models import ItemResult, TransferBatch, TransferItem, TransferStatus
from archive_service.values import SecrecyLevel


def user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def enterprise(session, n: int = 0) -> Organisation:
    return list(
        session.scalars(
            select(Organisation).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.id)
        )
    )[n]


def row(n: int, **overrides) -> dict[str, object]:
    born = date(1958, 1 + n % 12, 1 + n % 28)
    cells = {
        "序号": n,
        "姓名": f"移交{n}",
        "性别": "男",
        "公民身份号码": citizen_id(XICHENG, born, 300 + n, "M"),
        "出生日期": born.isoformat(),
        "退休时间": f"{born.year + 60}-{born.month:02d}-01",
        "户籍地区划代码": XICHENG,
        "居住地区划代码": XICHENG,
        "参保地区划代码": XICHENG,
        "档号": "",
        "卷数": 1,
        "页数": 80 + n,
        "材料份数": 30,
        "缺失材料": "",
        "缺失材料证明": "否",
        "领导人员": "否",
        "涉密": "否",
        "死亡日期": "",
        "参加工作时间": f"{born.year + 18}-09-01",
        "离休": "否",
    }
    cells.update(overrides)
    return cells


def as_csv(rows: list[dict[str, object]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=register.HEADERS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def as_xlsx(rows: list[dict[str, object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(list(register.HEADERS))
    for r in rows:
        sheet.append([r[h] for h in register.HEADERS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def error_of(call) -> ArchiveError:
    with pytest.raises(ArchiveError) as caught:
        call()
    return caught.value


def new_batch(session, rows, fmt=as_xlsx, who="clerk", n: int = 4) -> TransferBatch:
    """Enterprise 4 is registered in 东城, so the area rule looks at each retiree's hukou and residence."""
    data = fmt(rows)
    name = "名册.xlsx" if data[:2] == b"PK" else "名册.csv"
    return intake.import_register(session, user(session, who), enterprise(session, n).id, data, name)


def test_the_template_reads_back_and_its_example_row_is_valid(engine, demo):
    """The example row shows a correct row (it passes every cell check with its 序号 filled in), but it is
    marked 示例 and never read as a retiree: a template with only the example has no data rows."""
    from openpyxl import load_workbook

    template = register.template_xlsx()
    with pytest.raises(ArchiveError) as refused:
        register.read_sheet(template, "template.xlsx")
    assert refused.value.code == "file.no_rows"
    cells = dict(
        zip(
            register.HEADERS,
            next(load_workbook(io.BytesIO(template)).active.iter_rows(min_row=2, values_only=True)),
            strict=False,
        )
    )
    assert cells["序号"] == register.EXAMPLE
    parsed, problems, _ = register.check_row(2, {**cells, "序号": 1})
    assert problems == [] and parsed.name == "张三" and parsed.volumes == 1


def test_every_problem_of_every_row_is_listed_and_nothing_is_saved(engine, demo):
    with db.transaction() as session:
        held = session.scalar(select(Dossier).where(Dossier.archival_code == "J102-RS-000001")).retiree.citizen_id
        rows = [
            row(1),
            row(2, 公民身份号码=row(2)["公民身份号码"][:17] + ("0" if row(2)["公民身份号码"][17] != "0" else "1")),
            row(3, 公民身份号码=row(1)["公民身份号码"], 出生日期=row(1)["出生日期"]),
            row(4, 户籍地区划代码="310101", 居住地区划代码="310101"),
            row(5, 领导人员="是"),
            row(6, 死亡日期="2024-03-01"),
            row(7, 缺失材料="1985 年转正定级表"),
            row(8, 公民身份号码=held),
            row(9, 性别="女", 卷数=0, 页数="很多"),
        ]
        before = session.scalar(select(func.count()).select_from(TransferItem))
        batches = session.scalar(select(func.count()).select_from(TransferBatch))
        error = error_of(lambda: new_batch(session, rows))
        assert (error.code, error.field, error.status) == ("register.rows", "file", 422)
        found = {(p["row"], p["column"], p["code"]) for p in error.problems}
        assert found == {
            (3, "公民身份号码", "citizen_id.check_digit"),
            (4, "公民身份号码", "citizen_id.repeated"),
            (9, "出生日期", "citizen_id.birth_date_mismatch"),
            (5, "户籍地区划代码", "retiree.area"),
            (6, "领导人员", "retiree.leader_cadre"),
            (7, "死亡日期", "retiree.deceased"),
            (8, "缺失材料证明", "missing_materials.certificate"),
            (9, "公民身份号码", "citizen_id.held"),
            (10, "性别", "citizen_id.sex_mismatch"),
            (10, "卷数", "count.positive"),
            (10, "页数", "count.positive"),
        }
        assert "名册有 11 处问题，未保存任何内容" in error.message
        assert session.scalar(select(func.count()).select_from(TransferItem)) == before
        assert session.scalar(select(func.count()).select_from(TransferBatch)) == batches


def test_a_retiree_outside_the_area_is_accepted_when_the_enterprise_is_registered_here(engine, demo):
    """晋政办通〔2020〕18号 第二十一条(三): neither 户籍 nor residence in the district → the bureau of the
    enterprise's registered place, which is this one."""
    with db.transaction() as session:
        user(session, "clerk").organisation.jurisdiction_rule = JurisdictionRule.residence_else_enterprise
        outside = row(1, 户籍地区划代码="310101", 居住地区划代码="310104")
        local = next(
            n for n in range(5) if enterprise(session, n).region_code == XICHENG
        )  # an enterprise registered in 西城
        batch = new_batch(session, [outside], n=local)
        assert batch.status is TransferStatus.registered and len(batch.items) == 1


def test_bad_files_get_a_clear_error(engine, demo):
    with db.transaction() as session:
        clerk = user(session, "clerk")
        eid = enterprise(session).id
        cases = [
            (b"", "file.empty"),
            (b"PK\x03\x04 not really a zip", "file.type"),
            ("姓名,性别\n张三,男\n".encode(), "file.headers"),
            (as_csv([])[:-1] + b"\n", "file.no_rows"),
            (b"\xff\xfe\xfa\xfb" * 10, "file.encoding"),
        ]
        for data, code in cases:
            assert error_of(lambda d=data: intake.import_register(session, clerk, eid, d, "x.csv")).code == code
        assert error_of(lambda: intake.import_register(session, clerk, eid, b"abc", "名册.xlsx")).code == "file.type"
        gbk = new_batch(session, [row(1), row(2)], fmt=lambda rows: as_csv(rows, "gbk"))
        assert [i.retiree_name for i in gbk.items] == ["移交1", "移交2"]


def test_receiving_takes_files_into_custody_and_never_counts_one_twice(engine, demo):
    with db.transaction() as session:
        clerk = user(session, "clerk")
        batch = new_batch(session, [row(1), row(2), row(3), row(4, 涉密="是")])
        first = batch.items[0]
        item = receiving.receive(session, clerk, batch.id, receiving.Check(first.citizen_id))
        assert item.result is ItemResult.accepted and item.received_pages == first.declared_pages
        dossier = session.get(Dossier, item.dossier_id)
        assert dossier.custodian_id == clerk.organisation_id and dossier.shelf_slot_id is None  # waits for a place
        event = session.scalar(select(CustodyEvent).where(CustodyEvent.dossier_id == dossier.id))
        assert (event.kind, event.transfer_batch_id, event.from_org_id) == (
            CustodyEventKind.received,
            batch.id,
            batch.from_org_id,
        )
        again = error_of(
            lambda: receiving.receive(session, clerk, batch.id, receiving.Check(dossier.retiree.citizen_id))
        )
        assert (again.code, again.status) == ("item.already_checked", 409) and "接收" in again.message
        assert batch.status is TransferStatus.receiving and batch.received_at is not None
        short = receiving.receive(session, clerk, batch.id, receiving.Check("#2", pages=70))
        assert short.result is ItemResult.discrepancy and "页数名册 82、实收 70" in short.reason
        no_reason = error_of(
            lambda: receiving.receive(session, clerk, batch.id, receiving.Check("#3", ItemResult.rejected))
        )
        assert no_reason.field == "reason"
        back = receiving.receive(
            session, clerk, batch.id, receiving.Check("#3", ItemResult.rejected, "卷皮破损，材料散落")
        )
        assert back.dossier_id is None
        classified = error_of(lambda: receiving.receive(session, clerk, batch.id, receiving.Check("#4")))
        assert classified.status == 403  # 涉密: only an archivist receives it
        assert (
            receiving.receive(session, user(session, "archivist"), batch.id, receiving.Check("#4")).result
            is ItemResult.accepted
        )
        unknown = error_of(lambda: receiving.receive(session, clerk, batch.id, receiving.Check("J102-RS-999999")))
        assert (unknown.code, unknown.field) == ("key.not_in_register", "key")
        p = transfers.progress(session, batch)
        assert (p.total, p.checked, p.accepted, p.discrepancies, p.rejected, p.pending) == (4, 4, 3, 1, 1, 0)
        # Another bureau neither sees nor receives it.
        assert error_of(lambda: transfers.get_batch(session, user(session, "dongcheng"), batch.id)).status == 404


def test_the_registers_particulars_become_the_retirees_on_receipt(engine, demo):
    """姓名 … 参保地 and 密级 as the register gives them are the transfer item's, then the retiree's."""
    with db.transaction() as session:
        born = date(1961, 3, 4)
        woman = citizen_id(XICHENG, born, 302, "F")
        cells = {"性别": "女", "公民身份号码": woman, "出生日期": born.isoformat(), "退休时间": "2016-03-01"}
        batch = new_batch(session, [row(1), row(2, **cells, 参加工作时间="1979-07-01", 涉密="秘密")])
        expected = Particulars(
            name="移交2",
            sex="F",
            citizen_id=woman,
            birth_date=born,
            work_start_date=date(1979, 7, 1),
            retirement_date=date(2016, 3, 1),
            hukou_region_code=XICHENG,
            residence_region_code=XICHENG,
            insured_region_code=XICHENG,
            secrecy=SecrecyLevel.secret,
        )
        item = batch.items[1]
        assert item.particulars == expected
        assert (item.retiree_name, item.sex, item.citizen_id, item.work_start_date) == (
            "移交2",
            "F",
            woman,
            expected.work_start_date,
        )
        received = receiving.receive(session, user(session, "archivist"), batch.id, receiving.Check("#2"))
        session.expire_all()
        retiree = session.get(Dossier, received.dossier_id).retiree
        assert retiree.particulars == expected and retiree.enterprise_id == batch.from_org_id
        assert (retiree.name, retiree.birth_date, retiree.retirement_date, retiree.secrecy) == (
            "移交2",
            born,
            date(2016, 3, 1),
            SecrecyLevel.secret,
        )


def test_two_clerks_scanning_the_same_volume_at_once_count_it_once(engine, demo):
    with db.transaction() as session:
        batch = new_batch(session, [row(1), row(2)])
        batch_id, key = batch.id, batch.items[0].citizen_id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def scan(username: str) -> None:
        with db.get_sessionmaker()() as session:
            clerk = user(session, username)
            barrier.wait()
            try:
                receiving.receive(session, clerk, batch_id, receiving.Check(key))
                session.commit()
                outcomes.append("accepted")
            except ArchiveError as error:
                session.rollback()
                outcomes.append(error.code)

    threads = [threading.Thread(target=scan, args=(name,)) for name in ("clerk", "archivist")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["accepted", "item.already_checked"]
    with db.get_sessionmaker()() as session:
        p = transfers.progress(session, session.get(TransferBatch, batch_id))
        assert (p.checked, p.accepted) == (1, 1)
        assert (
            session.scalar(
                select(func.count())
                .select_from(Dossier)
                .join(Dossier.retiree)
                .where(Dossier.retiree.has(citizen_id=key))
            )
            == 1
        )


def confirmed_batch(session) -> TransferBatch:
    clerk = user(session, "clerk")
    batch = new_batch(session, [row(1), row(2), row(3)])
    for n, check in enumerate([{}, {"pages": 10}, {"result": ItemResult.rejected, "reason": "非本企业职工"}], start=1):
        receiving.receive(session, clerk, batch.id, receiving.Check(f"#{n}", **check))
    early = error_of(lambda: transfers.receipt(session, clerk, batch.id))
    assert early.code == "batch.not_confirmed"
    assert error_of(lambda: transfers.confirm(session, clerk, batch.id, "sender", "")).field == "sender_name"
    transfers.confirm(session, clerk, batch.id, "sender", "刘移交")
    assert batch.status is TransferStatus.received and batch.manifest_sha256 is None
    # Two files arrive on paper only: the bureau says why (000 §三(二)2, 002 第九条(四), 003 二(三)).
    paper = error_of(lambda: transfers.confirm(session, user(session, "archivist"), batch.id, "receiver", "", "无"))
    assert (paper.code, paper.field) == ("paper_reason.required", "paper_reason")
    assert "2 份档案尚未数字化" in paper.message
    transfers.confirm(session, user(session, "archivist"), batch.id, "receiver", "", PAPER_REASON)
    assert batch.status is TransferStatus.confirmed and len(batch.manifest_sha256) == 64
    assert batch.paper_reason == PAPER_REASON and receipt.manifest(session, batch)["paper_reason"] == PAPER_REASON
    return batch


PAPER_REASON = "企业无数字化条件，由本馆接收后数字化"


def test_confirmation_closes_the_batch_and_the_receipt_proves_what_was_handed_over(engine, demo, tmp_path):
    with db.transaction() as session:
        clerk = user(session, "clerk")
        pending = new_batch(session, [row(11)])
        assert error_of(lambda: transfers.confirm(session, clerk, pending.id, "receiver")).code == "batch.status"
        batch = confirmed_batch(session)
        closed = error_of(lambda: receiving.receive(session, clerk, batch.id, receiving.Check("#1")))
        assert closed.code == "batch.closed"
        pdf = transfers.receipt(session, clerk, batch.id)
        number, sha = batch.number, batch.manifest_sha256
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    for expected in (
        "退休人员人事档案移交交接书",
        number,
        sha,
        "刘移交",
        "接收（有差异）",
        "退回",
        "非本企业职工",
        "名册 3 份；接收 2 份",
        f"未数字化接收理由：{PAPER_REASON}",
    ):
        assert expected in text, expected
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    ok = subprocess.run(
        [sys.executable, "-m", "archive_service.cli", "transfers", "verify-receipt", str(path)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert sha in ok.stdout and "交接书与清单一致" in ok.stdout
    # Someone edits a result in the database after the handover: the receipt no longer matches it.
    with db.transaction() as session:
        session.execute(update(TransferItem).where(TransferItem.row_no == 3).values(result=ItemResult.accepted))
    bad = subprocess.run(
        [sys.executable, "-m", "archive_service.cli", "transfers", "verify-receipt", str(path)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "在确认后被改动" in bad.stdout
    with db.transaction() as session:
        assert (
            error_of(
                lambda: transfers.receipt(
                    session,
                    user(session, "clerk"),
                    session.scalar(select(TransferBatch.id).where(TransferBatch.number == number)),
                )
            ).code
            == "manifest.changed"
        )


def test_a_receipt_whose_manifest_was_swapped_does_not_verify(engine, demo):
    import pikepdf

    with db.transaction() as session:
        batch = confirmed_batch(session)
        pdf = transfers.receipt(session, user(session, "clerk"), batch.id)
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            forged = (
                doc.attachments["manifest.json"]
                .get_file()
                .read_bytes()
                .replace("非本企业职工".encode(), "已接收".encode())
            )
            doc.attachments["manifest.json"] = pikepdf.AttachedFileSpec(doc, forged)
            out = io.BytesIO()
            doc.save(out)
        check = transfers.verify_receipt(session, out.getvalue())
        assert not check.ok and any("不一致" in p for p in check.problems)
        assert not transfers.verify_receipt(session, b"%PDF-1.4 broken").ok


def test_markup_typed_into_a_batch_is_printed_as_text_on_the_receipt(engine, demo, tmp_path):
    """Issue 22.4: a receiving reason `<img src="a stored file">` used to embed that file from the server's
    disk in the 交接书, and a sender name with `"><img …>` made the receipt fail with 500 for ever."""
    secret = tmp_path / "secret.png"
    from PIL import Image

    Image.new("RGB", (40, 40), (255, 0, 0)).save(secret)
    hostile_reason = f'<img src="{secret}" width="300" height="300"/>非本企业职工 & <b>退回</b>'
    hostile_name = '刘"><img src="x"/>移交 <a'
    with db.transaction() as session:
        clerk = user(session, "clerk")
        batch = new_batch(session, [row(21), row(22)])
        receiving.receive(session, clerk, batch.id, receiving.Check("#21"))
        receiving.receive(session, clerk, batch.id, receiving.Check("#22", ItemResult.rejected, hostile_reason))
        transfers.confirm(session, clerk, batch.id, "sender", hostile_name)
        transfers.confirm(session, user(session, "archivist"), batch.id, "receiver", "", PAPER_REASON)
        pdf = transfers.receipt(session, clerk, batch.id)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    flat = "".join(text.split())
    assert "".join(hostile_name.split()) in flat  # printed as typed
    # A long temporary path wraps in the PDF, and a line broken at a hyphen loses it in pdftotext.
    assert f'<imgsrc="{secret}"'.replace(" ", "").replace("-", "") in flat.replace("-", "") and "&<b>退回</b>" in flat
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as opened:  # and no picture was pulled in from the server's disk
        assert all(not page.images for page in opened.pages)


def test_a_clerk_checks_a_receipt_on_the_page(engine, client):
    """Checking a 交接书 needed the operator's command; the clerk uploads it on the 移交接收 page. Another
    bureau's check does not learn anything about this bureau's batch."""
    import pikepdf

    from tests.archive_service.test_forms_keep_values import _cookie_login

    with db.transaction() as session:
        batch = confirmed_batch(session)
        pdf = transfers.receipt(session, user(session, "clerk"), batch.id)
        number, sha = batch.number, batch.manifest_sha256
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        text = doc.attachments["manifest.json"].get_file().read_bytes()
        doc.attachments["manifest.json"] = pikepdf.AttachedFileSpec(doc, text.replace(b'"rejected"', b'"accepted"'))
        forged = io.BytesIO()
        doc.save(forged)

    def check(data: bytes) -> str:
        r = client.post("/transfers/receipt-check", files={"file": ("交接书.pdf", data, "application/pdf")})
        assert r.status_code == 200, r.text[:300]
        start = r.text.index('id="receipt-result"')
        return r.text[start : r.text.index("</div>", start)]

    _cookie_login(client, "clerk")
    shown = check(pdf)
    assert "✓ 交接书与清单一致" in shown and number in shown and sha in shown
    shown = check(forged.getvalue())
    assert "✗ 交接书未通过核验" in shown and "清单或交接书被改动" in shown
    assert "不是有效的 PDF 文件" in check(b"%PDF-1.4 broken")  # no library's English
    _cookie_login(client, "dongcheng")
    assert f"本系统没有批次 {number}" in check(pdf)

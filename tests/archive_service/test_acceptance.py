"""Acceptance of a batch's digitised copies (DA/T 31-2017 12.3): machine checks on every dossier, a
≥ 5 % random sample inspected by a person, the pass rules, and the result on the receipt."""

import subprocess

from sqlalchemy import select

from archive_service import db
from archive_service.adapters import open_store
from archive_service.config import get_settings
from archive_service.digitisation.service import digitise_dossier
from archive_service.dossiers.models import DigitalObject, Dossier
from archive_service.transfers import acceptance, receipt, receiving
from archive_service.transfers import service as transfers
from archive_service.transfers.models import TransferItem
from tests.archive_service.conftest import blank_scans
from tests.archive_service.test_transfers import error_of, new_batch, row, user

ALL_GOOD = dict.fromkeys(acceptance.CRITERIA, True)


def test_the_sample_is_at_least_five_percent_and_never_empty():
    assert [acceptance.sample_size(n) for n in (1, 3, 20, 21, 40, 100, 101)] == [1, 1, 1, 2, 2, 5, 6]


def received_and_digitised(session, rows: int = 3, digitise: int | None = None) -> tuple[int, list[Dossier]]:
    """A received batch whose dossiers (2 blank pages each) are digitised through the real pipeline."""
    clerk, archivist = user(session, "clerk"), user(session, "archivist")
    batch = new_batch(session, [row(n, 页数=2) for n in range(1, rows + 1)])
    for n in range(1, rows + 1):
        receiving.receive(session, clerk, batch.id, receiving.Check(f"#{n}"))
    dossiers = list(
        session.scalars(
            select(Dossier)
            .join(TransferItem, TransferItem.dossier_id == Dossier.id)
            .where(TransferItem.batch_id == batch.id)
            .order_by(TransferItem.row_no)
        )
    )
    store = open_store(get_settings())
    for dossier in dossiers[: rows if digitise is None else digitise]:
        outcome = digitise_dossier(session, store, archivist, dossier, blank_scans(2), jobs=1)
        assert outcome.ok, outcome.report
    session.flush()
    return batch.id, dossiers


def test_a_batch_with_digitised_copies_is_confirmed_only_after_passing_acceptance(engine, demo):
    with db.transaction() as session:
        batch_id, dossiers = received_and_digitised(session)
        clerk, archivist = user(session, "clerk"), user(session, "archivist")
        store = open_store(get_settings())
        assert error_of(lambda: transfers.confirm(session, clerk, batch_id, "receiver")).code == "acceptance.not_passed"
        # The intake clerk cannot run acceptance; the archivist can.
        assert error_of(lambda: transfers.start_acceptance(session, store, clerk, batch_id)).status == 403
        record = transfers.start_acceptance(session, store, archivist, batch_id)
        assert record["machine"] == {
            "dossiers": 3,
            "passed": 3,
            "checks": list(acceptance.MACHINE_CHECKS),
            "failures": [],
        }
        assert record["stage"] == "inspecting" and record["sample"]["size"] == 1
        ((sampled_id, sampled_code),) = record["sample"]["dossiers"]
        assert sampled_code in {d.archival_code for d in dossiers}
        not_sampled = next(d.id for d in dossiers if d.id != sampled_id)

        def inspect(dossier_id, marks, note=""):
            return lambda: transfers.inspect_sample(session, archivist, batch_id, dossier_id, marks, note)

        assert error_of(inspect(not_sampled, ALL_GOOD)).code == "dossier_id.not_sampled"
        assert error_of(inspect(sampled_id, {"catalogue_image": True})).field == "marks"
        assert error_of(inspect(sampled_id, {**ALL_GOOD, "smell": True})).code == "marks.unknown"
        assert error_of(inspect(sampled_id, {**ALL_GOOD, "legibility": False})).field == "note"
        assert error_of(lambda: transfers.conclude_acceptance(session, archivist, batch_id)).code == (
            "acceptance.uninspected"
        )
        inspect(sampled_id, ALL_GOOD)()
        done = transfers.conclude_acceptance(session, archivist, batch_id)
        assert done["result"] == "passed" and done["rates"] == {"catalogue_image": 1.0, "other": 1.0}
        transfers.confirm(session, clerk, batch_id, "sender", "王会计")
        batch = transfers.confirm(session, clerk, batch_id, "receiver")
        assert batch.manifest_sha256 and receipt.manifest(session, batch)["acceptance"]["result"] == "passed"
        pdf = transfers.receipt(session, clerk, batch_id)
        # Closed batches take no further acceptance rounds.
        assert error_of(lambda: transfers.start_acceptance(session, store, archivist, batch_id)).code == "batch.closed"
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "机检 3/3 份通过" in text and "抽检 1 份" in text and "结论：合格" in text


def test_machine_checks_cover_every_dossier_and_name_what_failed(engine, demo):
    with db.transaction() as session:
        batch_id, dossiers = received_and_digitised(session, rows=3, digitise=2)
        archivist = user(session, "archivist")
        store = open_store(get_settings())
        # A stored use copy is damaged on disk after digitising (masters are shared: the same blank scans).
        pdf = session.scalar(
            select(DigitalObject).where(DigitalObject.dossier_id == dossiers[0].id, DigitalObject.role == "use_copy")
        )
        path = store._path(pdf.storage_key)
        path.chmod(0o644)
        path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
        # Another copy lost its process metadata.
        session.delete(
            session.scalar(
                select(DigitalObject).where(DigitalObject.dossier_id == dossiers[1].id, DigitalObject.role == "sidecar")
            )
        )
        session.flush()
        record = transfers.start_acceptance(session, store, archivist, batch_id)
        failures = {(f["archival_code"], f["check"]) for f in record["machine"]["failures"]}
        assert failures == {(dossiers[0].archival_code, "fixity"), (dossiers[1].archival_code, "present")}
        # The file with no copy is on paper only: listed, not failed (its reason is given at confirmation).
        assert record["paper_only"] == [dossiers[2].archival_code] and record["machine"]["dossiers"] == 2
        assert record["result"] == "failed" and record["machine"]["passed"] == 0 and "sample" not in record
        assert "不合格" in acceptance.summary(record)
        # A new round after fixing keeps the failed one in the history.
        path.write_bytes(b"")  # still broken: the round fails again, and both rounds are kept
        again = transfers.start_acceptance(session, store, archivist, batch_id)
        assert again["round"] == 2 and [r["round"] for r in again["history"]] == [1]


def test_one_catalogue_to_image_error_in_the_sample_fails_the_batch(engine, demo):
    with db.transaction() as session:
        batch_id, _ = received_and_digitised(session, rows=2)
        archivist = user(session, "archivist")
        record = transfers.start_acceptance(session, open_store(get_settings()), archivist, batch_id)
        ((sampled_id, _),) = record["sample"]["dossiers"]
        transfers.inspect_sample(
            session, archivist, batch_id, sampled_id, {**ALL_GOOD, "catalogue_image": False}, "第 2 页挂接到了第 3 条"
        )
        done = transfers.conclude_acceptance(session, archivist, batch_id)
        assert done["result"] == "failed" and "目录与图像对应合格率 0%" in done["reason"]
        assert error_of(lambda: transfers.confirm(session, user(session, "clerk"), batch_id, "receiver")).code == (
            "acceptance.not_passed"
        )


def test_other_items_need_ninety_five_percent(engine, demo):
    """With one sampled dossier, one failed item of the four others is 75 %: the batch fails."""
    with db.transaction() as session:
        batch_id, _ = received_and_digitised(session, rows=1)
        archivist = user(session, "archivist")
        record = transfers.start_acceptance(session, open_store(get_settings()), archivist, batch_id)
        ((sampled_id, _),) = record["sample"]["dossiers"]
        transfers.inspect_sample(
            session, archivist, batch_id, sampled_id, {**ALL_GOOD, "orientation": False}, "第1页倒置"
        )
        done = transfers.conclude_acceptance(session, archivist, batch_id)
        assert done["result"] == "failed" and done["rates"]["other"] == 0.75


def test_a_paper_only_batch_needs_no_acceptance(engine, demo):
    with db.transaction() as session:
        batch_id, _ = received_and_digitised(session, rows=1, digitise=0)
        clerk = user(session, "clerk")
        transfers.confirm(session, clerk, batch_id, "sender", "王会计")
        # No acceptance; but paper only, so the bureau's reason (000 §三(二)2) is asked for instead.
        assert error_of(lambda: transfers.confirm(session, clerk, batch_id, "receiver")).code == "paper_reason.required"
        transfers.confirm(session, clerk, batch_id, "receiver", "", "企业未数字化，本馆补做")
        assert "未进行" in acceptance.summary(transfers.get_batch(session, clerk, batch_id).acceptance)

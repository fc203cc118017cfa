"""The digitisation backlog (000 §三(二)2, 002 第九条(四), 003 二(三): files are digitised before
handover): files taken in on paper only wait on the dashboard — how many, the longest waiting, by
enterprise — until their digitisation is done. The real digitisation that takes a file off the list
is in test_catalogue_path; here the list's arithmetic, against a count made another way."""

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select

from archive_service import db
from archive_service.digitisation.backlog import backlog
from archive_service.dossiers.models import DigitisationState, Dossier, DossierStatus
from archive_service.transfers import receiving
from archive_service.transfers.models import ItemResult
from tests.archive_service.test_transfers import enterprise, new_batch, row, user

HELD = (DossierStatus.in_custody, DossierStatus.on_loan)


def by_hand(session, organisation_id: int) -> Counter:
    """Per enterprise, the held files not digitised, counted over the objects."""
    return Counter(
        d.retiree.enterprise.name
        for d in session.scalars(select(Dossier).where(Dossier.custodian_id == organisation_id))
        if d.status in HELD and d.digitisation is not DigitisationState.done
    )


def test_files_received_on_paper_wait_by_enterprise_until_digitised(engine, demo):
    with db.transaction() as session:
        clerk = user(session, "clerk")
        bureau = clerk.organisation_id
        before = backlog(session, bureau)
        assert before.files == sum(by_hand(session, bureau).values()) > 0
        assert {e.enterprise: e.files for e in before.by_enterprise} == dict(by_hand(session, bureau))

        # A new batch: two files taken in, one sent back. Only the two join the list, dated today.
        started = datetime.now(UTC)
        batch = new_batch(session, [row(61), row(62), row(63)])
        receiving.receive(session, clerk, batch.id, receiving.Check("#61"))
        receiving.receive(session, clerk, batch.id, receiving.Check("#62"))
        receiving.receive(session, clerk, batch.id, receiving.Check("#63", ItemResult.rejected, "非本企业职工"))
        name = enterprise(session, 4).name
        after = backlog(session, bureau)
        mine = {e.enterprise: e for e in after.by_enterprise}[name]
        assert after.files == before.files + 2
        assert mine.files == by_hand(session, bureau)[name] == before_count(before, name) + 2
        assert [e.files for e in after.by_enterprise] == sorted((e.files for e in after.by_enterprise), reverse=True)
        # The demo's files have waited longer than today's: the oldest is theirs, and stays so.
        assert after.oldest_received == before.oldest_received < started
        assert after.oldest_code == before.oldest_code

        # Digitised (the pipeline sets this when it has stored the copy), a file leaves the list.
        received = session.scalars(
            select(Dossier).where(Dossier.id.in_([i.dossier_id for i in batch.items if i.dossier_id]))
        ).all()
        received[0].digitisation = DigitisationState.done
        session.flush()
        assert backlog(session, bureau).files == after.files - 1
        # A file sent on to another bureau is no longer this bureau's to digitise.
        received[1].status = DossierStatus.transferred_out
        session.flush()
        assert backlog(session, bureau).files == before.files


def before_count(figures, name: str) -> int:
    return {e.enterprise: e.files for e in figures.by_enterprise}.get(name, 0)


def test_the_dashboard_and_the_dossier_list_show_the_same_backlog(client, login):
    archivist = login("archivist")
    figures = client.get("/api/digitisation/backlog", headers=archivist).json()
    assert figures["files"] > 0 and figures["oldest_code"]
    page = client.get("/", headers=archivist).text
    assert f'<b id="backlog-files">{figures["files"]}</b>' in page
    top = figures["by_enterprise"][0]
    assert f'<tr><td>{top["enterprise"]}</td><td class="num">{top["files"]}</td>' in page
    listed = client.get("/dossiers?digitisation=pending", headers=archivist).text
    assert f"共 {figures['files']} 份" in listed and 'id="awaiting-digitisation" checked' in listed
    # Requesters see their requests only.
    assert client.get("/api/digitisation/backlog", headers=login("sibao")).status_code == 403

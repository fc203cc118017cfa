"""Digitising a dossier in custody: what is stored, what is recorded, and nothing when QC stops it."""

import hashlib
import io

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from archive_service import adapters, db
from archive_service.access.models import AccessLogEntry
from archive_service.auth.models import User
from archive_service.cli import app as cli
from archive_service.config import get_settings
from archive_service.digitisation.service import digitise_dossier
from archive_service.dossiers.models import DigitalObject, DigitisationState, Dossier
from archive_service.preservation import service as preservation
from digitise.pipeline import PIPELINE_VERSION
from tests.archive_service.conftest import blank_scans, one_sheet_per_entry
from tests.rendering import assert_pages_look_like


def _setup(archival_code: str | None = None):
    session = db.get_sessionmaker()()
    actor = session.scalar(select(User).where(User.username == "archivist"))
    query = select(Dossier).where(Dossier.custodian_id == actor.organisation_id).order_by(Dossier.id)
    dossier = session.scalars(query).first()
    return session, actor, dossier


def stored_keys() -> set[str]:
    return set(adapters.open_store(get_settings()).keys())


def test_digitised_dossier_is_stored_linked_and_shown(client, login):
    session, actor, dossier = _setup()
    total = one_sheet_per_entry(session, dossier)
    scans = blank_scans(total)
    outcome = digitise_dossier(session, adapters.open_store(get_settings()), actor, dossier, scans, jobs=2)
    session.commit()
    assert outcome.ok, outcome.report
    objects = session.scalars(select(DigitalObject).where(DigitalObject.dossier_id == dossier.id)).all()
    roles = sorted(o.role for o in objects)
    assert roles.count("master_image") == total and roles.count("use_copy") == 1 and roles.count("sidecar") == 1
    masters = sorted((o for o in objects if o.role == "master_image"), key=lambda o: o.name)
    assert masters[0].name == f"{dossier.archival_code}-0001.tif"
    assert masters[0].sha256 == hashlib.sha256(scans[0].read_bytes()).hexdigest()  # the scan, unchanged
    assert stored_keys() == {o.storage_key for o in objects}
    use_copy = next(o for o in objects if o.role == "use_copy")
    assert use_copy.pdfa_level == "2b" and use_copy.pages == total
    assert use_copy.ocr_engine.startswith("PP-OCR v4")  # the default engine, as the dossier page shows it
    assert any(f["code"] == "resolution.below_recommended" for f in use_copy.qc_results)
    session.refresh(dossier)
    assert dossier.digitisation == DigitisationState.done
    ranges = [(m.first_page, m.last_page) for m in sorted(dossier.materials, key=lambda m: m.sort_key)]
    assert ranges[0][0] == 1 and ranges[-1][1] == total
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:], strict=False))  # contiguous, in catalogue order

    headers = login("archivist")
    page = client.get(f"/dossiers/{dossier.id}", headers=headers)
    assert "数字副本" in page.text and f"{dossier.archival_code}.pdf" in page.text and "项警告" in page.text
    assert f"<dd>{use_copy.ocr_engine}（chi_sim+eng）" in page.text
    assert f'copy.pdf#page={ranges[1][0]}"' in page.text
    pdf = client.get(f"/dossiers/{dossier.id}/copy.pdf", headers=headers)
    assert pdf.status_code == 200 and hashlib.sha256(pdf.content).hexdigest() == use_copy.sha256
    # What the archivist sees: every (blank, so CCITT G4) page white like its scan, not a black sheet.
    assert_pages_look_like(pdf.content, [Image.open(s) for s in scans])
    with pikepdf.open(io.BytesIO(pdf.content)) as made:  # its own dates in the bureau's time, not the server's
        assert str(made.open_metadata()["xmp:CreateDate"]).endswith("+08:00")
    logged = session.scalars(select(AccessLogEntry).where(AccessLogEntry.dossier_id == dossier.id)).all()
    assert [(e.action, e.role) for e in logged] == [("view_copy", "archivist")]  # the view is on record
    assert client.get(f"/dossiers/{dossier.id}/copy.pdf", headers=login("sibao")).status_code == 403
    assert client.get(f"/dossiers/{dossier.id}/copy.pdf", headers=login("dongcheng")).status_code in (403, 404)
    session.close()


def test_qc_failure_stores_nothing_and_marks_the_dossier(demo):
    session, actor, dossier = _setup()
    total = one_sheet_per_entry(session, dossier)
    outcome = digitise_dossier(
        session, adapters.open_store(get_settings()), actor, dossier, blank_scans(total - 1), jobs=2
    )
    session.commit()
    assert not outcome.ok and "page_count.mismatch" in outcome.report
    assert stored_keys() == set()
    assert session.scalars(select(DigitalObject).where(DigitalObject.dossier_id == dossier.id)).all() == []
    session.refresh(dossier)
    assert dossier.digitisation == DigitisationState.failed
    session.close()


def test_failure_while_recording_leaves_no_orphan_objects(demo, monkeypatch):
    session, actor, dossier = _setup()
    total = one_sheet_per_entry(session, dossier)
    real_ingest = preservation.ingest

    def failing_ingest(session, store, dossier, path, *, role, **kw):
        if role == "sidecar":
            raise OSError("disk full while storing the sidecar")
        return real_ingest(session, store, dossier, path, role=role, **kw)

    monkeypatch.setattr("archive_service.digitisation.service.ingest", failing_ingest)
    with pytest.raises(OSError):
        digitise_dossier(session, adapters.open_store(get_settings()), actor, dossier, blank_scans(total), jobs=2)
    session.rollback()
    assert stored_keys() == set()  # masters and PDF put before the failure were removed again
    session.close()


def test_cli_reports_and_exits_non_zero_on_hard_failure(demo):
    session, actor, dossier = _setup()
    code = dossier.archival_code
    session.close()
    result = CliRunner().invoke(cli, ["digitise", code, *map(str, blank_scans(3)), "--username", "archivist"])
    assert result.exit_code == 1
    assert "page_count.mismatch" in result.output and "未入库" in result.output
    nobody = CliRunner().invoke(cli, ["digitise", code, str(blank_scans(3)[0]), "--username", "nobody"])
    assert nobody.exit_code == 2 and "用户 nobody 不存在" in nobody.output


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # page work; the versions are plain ORM rows
def test_rebuild_faulty_finds_negative_copies_and_makes_them_again_from_the_masters(digitised_short, tmp_path):
    """A copy made by pipeline 1.0 showed its G4 pages as negatives; `archive rebuild-faulty` finds such
    copies and makes a new version from the kept masters, keeping the faulty one as a version."""
    store = adapters.open_store(get_settings())
    with db.transaction() as session:
        dossier = session.get(Dossier, digitised_short.id)
        good = session.scalars(
            select(DigitalObject).where(DigitalObject.dossier_id == dossier.id, DigitalObject.role == "use_copy")
        ).one()
        # The copy as pipeline 1.0 wrote it: the same G4 data, read with the opposite convention.
        faulty = tmp_path / "faulty.pdf"
        with pikepdf.open(io.BytesIO(b"".join(store.open(good.storage_key)))) as pdf:
            for page in pdf.pages:
                for image in page.get_images().values():
                    if image.get("/Filter") == "/CCITTFaxDecode":
                        image.DecodeParms.BlackIs1 = True
            pdf.save(faulty)
        preservation.ingest(
            session,
            store,
            dossier,
            faulty,
            role="use_copy",
            name=good.name,
            media_type="application/pdf",
            pages=good.pages,
            pipeline_version="digitise/1.0",
        )
    scans = [Image.open(s) for s in blank_scans(good.pages)]
    with pytest.raises(AssertionError, match="do not look like"):  # the faulty copy really is a negative
        assert_pages_look_like(faulty, scans)

    listed = CliRunner().invoke(cli, ["rebuild-faulty", "--username", "archivist", "--dry-run"])
    assert listed.exit_code == 0, listed.output
    assert "本馆需重制的利用副本：1 份" in listed.output and digitised_short.archival_code in listed.output
    assert "负片" in listed.output
    other_bureau = CliRunner().invoke(cli, ["rebuild-faulty", "--username", "dongcheng", "--dry-run"])
    assert "本馆需重制的利用副本：0 份" in other_bureau.output  # another bureau's files are not its to rebuild

    rebuilt = CliRunner().invoke(cli, ["rebuild-faulty", "--username", "archivist"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"{digitised_short.archival_code}: 已重制为第 3 版" in rebuilt.output
    with db.get_sessionmaker()() as session:
        copies = session.scalars(
            select(DigitalObject)
            .where(DigitalObject.dossier_id == digitised_short.id, DigitalObject.role == "use_copy")
            .order_by(DigitalObject.version)
        ).all()
        assert [c.version for c in copies] == [1, 2, 3]  # every version kept
        assert copies[2].pipeline_version == PIPELINE_VERSION
        assert_pages_look_like(b"".join(store.open(copies[2].storage_key)), scans)
        masters = session.scalars(
            select(DigitalObject).where(
                DigitalObject.dossier_id == digitised_short.id, DigitalObject.role == "master_image"
            )
        ).all()
        assert all(m.version == 1 for m in masters)  # the masters were read, not stored again
    again = CliRunner().invoke(cli, ["rebuild-faulty", "--username", "archivist", "--dry-run"])
    assert "本馆需重制的利用副本：0 份" in again.output

"""Pages flagged 疑似他人材料 reach the people who act (issue 36 item 6). A file the test digitises itself: its
first page carries the retiree's former name (曾用名 — flagged, and it does belong here), its last page is
another person's form, the only page of its catalogue entry. The approver sees both flags on the request
before approving; the archivist marks the first checked and takes the second out — refused while that would
empty the entry unless the entry goes too — which makes a new use copy from the stored masters (no scan),
keeps the catalogue's page ranges consistent, is on the access log and holds in every later copy."""

import io
import random
from datetime import timedelta

import pikepdf
import pytest
from sqlalchemy import select

from archive_service import db
from archive_service.access.log import AccessAction
from archive_service.access.models import AccessLogEntry, RequestMode
from archive_service.access.service import RequestForm, submit_request
from archive_service.adapters import object_store
from archive_service.auth.models import User
from archive_service.db import bureau_today
from archive_service.digitisation import misfiled
from archive_service.digitisation.service import digitise_dossier, latest_objects, latest_use_copy, rebuild_use_copy
from archive_service.dossiers import catalogue
from archive_service.dossiers.models import CatalogueRevision, Dossier
from archive_service.dossiers.service import catalogue as entries_of
from digitise.specimen import SpecimenPerson, citizen_id_for, draw_page, person, save_scan
from tests.archive_service.test_forms_keep_values import _cookie_login

ROWS = [
    {"class_code": "1", "title": "职工登记表", "date_formed": "1980.05", "copies": "1", "pages": "1", "remarks": ""},
    {
        "class_code": "9",
        "title": "工资调整审批表",
        "date_formed": "1990.03",
        "copies": "1",
        "pages": "1",
        "remarks": "",
    },
    {
        "class_code": "9",
        "title": "职工退休审批表",
        "date_formed": "2015.06",
        "copies": "1",
        "pages": "1",
        "remarks": "",
    },
]


def _user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def digitise_with_a_strangers_page(tmp_path) -> int:
    """A file of the archivist's bureau, catalogued anew (three one-page entries) and digitised from scans drawn
    here: the retiree under a former name, the retiree, then another person's form."""
    with db.transaction() as session:
        archivist = _user(session, "archivist")
        dossier = session.scalars(
            select(Dossier).where(Dossier.custodian_id == archivist.organisation_id).order_by(Dossier.id).offset(2)
        ).first()
        catalogue.save_catalogue(session, object_store(), archivist, dossier, ROWS)
        r = dossier.retiree
        own = SpecimenPerson(r.name, r.citizen_id, r.birth_date, r.sex)
        former_name = SpecimenPerson("欧阳" + r.name[-1], r.citizen_id, r.birth_date, r.sex)
        rng = random.Random(36)
        stranger = person(rng)
        while stranger.name.startswith(r.name) or stranger.birth_date == r.birth_date:
            stranger = person(rng)
        drawn = [(former_name, "职工登记表"), (own, "工资调整审批表"), (stranger, "职工退休审批表")]
        scans = [
            save_scan(draw_page(rng, who, seal=False, lines=4, title=title), tmp_path / f"scan-{n + 1:03d}.tif")
            for n, (who, title) in enumerate(drawn)
        ]
        outcome = digitise_dossier(session, object_store(), archivist, dossier, scans, jobs=2, work_root=tmp_path)
        assert outcome.ok, outcome.report
        return dossier.id


def _request(dossier_id: int, classes: list[int]) -> int:
    with db.transaction() as session:
        sibao = _user(session, "sibao")
        form = RequestForm(
            dossier=session.get(Dossier, dossier_id).archival_code, purpose="benefit_change",
            purpose_detail="待遇变更，核对参加工作时间", material_classes=classes, mode=RequestMode.online_view,
            valid_from=bureau_today(), valid_until=bureau_today() + timedelta(days=10), reader_name="社保经办",
            reader_citizen_id=citizen_id_for("110102", bureau_today().replace(year=1983), 17, "F"),
        )  # fmt: skip
        return submit_request(session, sibao, form, "test").id


def _sequences(dossier_id: int) -> dict[str, str]:
    """Each entry's 序号 by title (numbers follow those the file's earlier catalogue used)."""
    with db.get_sessionmaker()() as session:
        return {m.title: m.sequence for m in session.get(Dossier, dossier_id).materials}


def _flags(dossier_id: int) -> list[misfiled.Flag]:
    with db.get_sessionmaker()() as session:
        return misfiled.flags(session, object_store(), session.get(Dossier, dossier_id))


@pytest.mark.ocr
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_the_approver_sees_the_flags_and_the_archivist_decides_each(client, tmp_path):
    dossier_id = digitise_with_a_strangers_page(tmp_path)
    seq = _sequences(dossier_id)
    flagged = {f.page: f for f in _flags(dossier_id)}
    assert sorted(flagged) == [1, 3], {p: f.messages for p, f in flagged.items()}
    assert any("疑为他人材料误装" in m for m in flagged[3].messages)  # another person's ID on the page
    assert all("姓名" in m for m in flagged[1].messages)  # only the name differs on the first

    # The approver, before approving, sees the flags of the pages the request would serve — and only those.
    both, first_class_only = _request(dossier_id, [1, 9]), _request(dossier_id, [1])
    _cookie_login(client, "approver")
    screen = client.get(f"/requests/{both}").text
    warning = screen[screen.find('id="misfiled-flags"') :].split("</section>")[0]
    assert "2 页被标记为“疑似他人材料”" in warning and "第 1 页" in warning and "第 3 页" in warning
    assert f"{seq['职工退休审批表']}《职工退休审批表》第 3 页" in warning and 'name="approve"' in screen
    assert "第 3 页" not in client.get(f"/requests/{first_class_only}").text.split('id="misfiled-flags"')[-1][:2000]
    _cookie_login(client, "sibao")  # the requester learns nothing of it
    assert 'id="misfiled-flags"' not in client.get(f"/requests/{both}").text

    _cookie_login(client, "archivist")
    page = client.get(f"/dossiers/{dossier_id}").text
    assert 'id="misfiled-pages"' in page and "2 页待核对" in page
    refused = client.post(f"/dossiers/{dossier_id}/misfiled/1", data={"outcome": "checked"}, follow_redirects=False)
    assert refused.status_code == 422 and 'data-field="reason"' in refused.text and "请写明理由" in refused.text
    checked = {"outcome": "checked", "reason": "核对原件及干部履历，欧阳某系本人曾用名"}
    assert client.post(f"/dossiers/{dossier_id}/misfiled/1", data=checked, follow_redirects=False).status_code == 303
    again = client.post(f"/dossiers/{dossier_id}/misfiled/1", data=checked, follow_redirects=False)
    assert again.status_code == 409 and "已由" in again.text and "已核对，属本人材料" in again.text

    # Taking out the only page of 9-2 would leave the entry without pages: refused until the archivist says so.
    removal = {"outcome": "removed", "reason": "系他人（退休审批表）材料，已转该人档案"}
    refused = client.post(f"/dossiers/{dossier_id}/misfiled/3", data=removal, follow_redirects=False)
    assert refused.status_code == 409 and 'data-field="drop_entry"' in refused.text
    assert (
        f"{seq['职工退休审批表']}《职工退休审批表》仅有的一页" in refused.text
        and "同时从卷内目录删除该条目" in refused.text
    )
    with db.get_sessionmaker()() as session:
        dossier = session.get(Dossier, dossier_id)
        assert latest_use_copy(session, dossier).version == 1 and len(dossier.materials) == 3  # nothing changed
    removed = client.post(
        f"/dossiers/{dossier_id}/misfiled/3", data=removal | {"drop_entry": "yes"}, follow_redirects=False
    )
    assert removed.status_code == 303, removed.text[:2000]

    with db.get_sessionmaker()() as session:
        dossier = session.get(Dossier, dossier_id)
        copy = latest_use_copy(session, dossier)
        assert copy.version == 2 and copy.pages == 2
        with pikepdf.open(io.BytesIO(b"".join(object_store().open(copy.storage_key)))) as pdf:
            assert len(pdf.pages) == 2
        assert len(latest_objects(session, dossier, "master_image")) == 3  # the page's master is kept
        ranges = [(m.sequence, m.pages, m.first_page, m.last_page) for m in entries_of(dossier)]
        assert ranges == [(seq["职工登记表"], 1, 1, 1), (seq["工资调整审批表"], 1, 2, 2)] and dossier.pages == 2
        revision = session.scalars(
            select(CatalogueRevision).where(CatalogueRevision.dossier_id == dossier_id).order_by(CatalogueRevision.id)
        ).all()[-1]
        assert (
            revision.source == "page_removed"
            and f"{seq['职工退休审批表']} 职工退休审批表" in revision.note
            and len(revision.after) == 2
        )
        logged = list(
            session.scalars(
                select(AccessLogEntry).where(
                    AccessLogEntry.action == AccessAction.misfiled_page, AccessLogEntry.dossier_id == dossier_id
                )
            )
        )
        assert [e.pages for e in logged] == [[1], [3]]
        assert "本人曾用名" in logged[0].detail and "移出本卷" in logged[1].detail
        assert "生成数字副本第 2 版" in logged[1].detail
    # The first page is flagged again by the new copy's check, but stays decided (anchored to its scan).
    assert [(f.page, f.open) for f in _flags(dossier_id)] == [(1, False)]
    _cookie_login(client, "approver")
    assert 'id="misfiled-flags"' not in client.get(f"/requests/{both}").text
    _cookie_login(client, "archivist")
    page = client.get(f"/dossiers/{dossier_id}").text
    decided = page[page.find('id="misfiled-decisions"') :].split("</table>")[0]
    assert "已全部处理" in page and decided.count("<tr data-outcome") == 2 and "已移出本卷（他人材料）" in decided

    # Any later copy (a rebuild after a faulty pipeline version, a supplement) leaves the page out too.
    with db.transaction() as session:
        dossier = session.get(Dossier, dossier_id)
        again = rebuild_use_copy(session, object_store(), _user(session, "archivist"), dossier, work_root=tmp_path)
        assert again.ok and again.use_copy.pages == 2 and again.result.sidecar["left_out"][0]["source_frame"] == 1

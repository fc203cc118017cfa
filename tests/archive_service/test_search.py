"""Search in the service: the outbox keeps the index in step, scope decides who finds what,
opening a hit is logged. On SQLite and PostgreSQL (the `engine` fixture), embedded index."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from archive_service import db
from archive_service.access.log import verify_chain
from archive_service.access.models import AccessLogEntry, RequestMode, RequestStatus, RetrievalRequest
from archive_service.adapters import search_index
from archive_service.auth.models import User
from archive_service.auth.standing import set_standing
from archive_service.db import bureau_today
from archive_service.dossiers.models import Dossier, PageText, Retiree
from archive_service.finding.models import SearchOutbox
from archive_service.finding.service import SearchForm, search_dossiers
from archive_service.finding.worker import apply_outbox, reindex, verify
from archive_service.organisations.models import Organisation
from archive_service.values import SecrecyLevel


def sync(engine) -> int:
    return apply_outbox(engine, search_index(), wait=True)


def user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def find(username: str, text: str = "", **kw) -> list[str]:
    with db.get_sessionmaker()() as session:
        page = search_dossiers(session, user(session, username), search_index(), SearchForm(q=text, **kw))
        return [f.archival_code for f in page.found]


def first_dossier(session, code: str = "J102-RS-000001") -> Dossier:
    return session.scalar(select(Dossier).where(Dossier.archival_code == code))


def add_pages(dossier_id: int, texts: list[str]) -> None:
    with db.transaction() as session:
        session.add_all(PageText(dossier_id=dossier_id, page=n, text=t) for n, t in enumerate(texts, start=1))


def test_every_dossier_reaches_the_index_through_the_outbox(engine, demo):
    with db.get_sessionmaker()() as session:
        dossiers = session.scalar(select(func.count()).select_from(Dossier))
        assert session.scalar(select(func.count(func.distinct(SearchOutbox.dossier_id)))) == dossiers
    report = verify(engine, search_index())
    assert report.pending == dossiers and report.ok  # queued is not yet an error …
    assert sync(engine) == dossiers
    report = verify(engine, search_index())
    assert (report.dossiers, report.pending, report.ok) == (dossiers, 0, True)  # … and then it is all there
    assert sync(engine) == 0


def test_a_change_is_found_after_the_outbox_is_applied_and_a_rollback_queues_nothing(engine, demo):
    sync(engine)
    with db.transaction() as session:
        d = first_dossier(session)
        d.retiree.name = "欧阳振华"
        code = d.archival_code
    assert find("archivist", "欧阳振华") == []  # the index lags until the outbox is applied
    assert verify(engine, search_index()).pending == 1
    sync(engine)
    assert find("archivist", "欧阳振华") == [code]
    assert find("archivist", "振华") == [code]

    with pytest.raises(RuntimeError), db.transaction() as session:
        first_dossier(session).retiree.name = "司马光"
        session.flush()
        raise RuntimeError("the clerk's save failed")
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(SearchOutbox)) == 0


def test_enterprise_rename_and_new_page_text_requeue_their_dossiers(engine, demo):
    sync(engine)
    with db.transaction() as session:
        d = first_dossier(session)
        enterprise_id, dossier_id = d.retiree.enterprise_id, d.id
        held = session.scalar(
            select(func.count()).select_from(Dossier).join(Retiree).where(Retiree.enterprise_id == enterprise_id)
        )
        session.get(Organisation, enterprise_id).name = "北京红星机械厂"
    assert sync(engine) == held
    assert len(find("archivist", "红星机械")) == min(held, 20)
    add_pages(dossier_id, ["职工登记表 参加工作时间 一九七八年三月 红旗锻工车间", "工资审批表"])
    sync(engine)
    assert find("archivist", "红旗锻工车间") == ["J102-RS-000001"]


def test_a_failed_apply_keeps_the_queue_and_a_later_run_catches_up(engine, demo, monkeypatch):
    sync(engine)
    with db.transaction() as session:
        first_dossier(session).retiree.name = "诸葛明"
    index = search_index()
    real = index.upsert

    def crash(docs):  # the index is written, then the process dies before the outbox row goes
        real(docs)
        raise SystemExit("killed")

    monkeypatch.setattr(index, "upsert", crash)
    with pytest.raises(SystemExit):
        apply_outbox(engine, index, wait=True)
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(SearchOutbox)) == 1
    monkeypatch.setattr(index, "upsert", real)
    assert sync(engine) == 1
    assert find("archivist", "诸葛明") == ["J102-RS-000001"]
    assert verify(engine, index).ok


def test_verify_names_missing_stale_and_extra_dossiers_and_reindex_repairs(engine, demo):
    sync(engine)
    index = search_index()
    with db.get_sessionmaker()() as session:
        a, b = session.scalars(select(Dossier).order_by(Dossier.id).limit(2)).all()
        a_code, b_code, b_id = a.archival_code, b.archival_code, b.id
        # Change the database behind the outbox's back (as a restore from backup would).
        session.execute(update(Retiree).where(Retiree.id == a.retiree_id).values(name="改过"))
        session.commit()
    index.delete([b_id])
    index.upsert([])
    from search import DossierDocument

    ghost = DossierDocument(
        99999,
        "J102-RS-999999",
        "无此人",
        "110101194501010018",
        date(1945, 1, 1),
        None,
        1,
        "x",
        1,
        "in_custody",
        "not_started",
        False,
    )
    index.upsert([ghost])
    report = verify(engine, index)
    assert (report.missing, report.stale, report.extra, report.ok) == ([b_code], [a_code], [99999], False)
    count = reindex(engine, index)
    assert count == report.dossiers
    assert verify(engine, index).ok
    assert find("archivist", "改过") == [a_code]


def test_bureau_staff_find_only_what_their_bureau_holds(engine, demo):
    sync(engine)
    with db.get_sessionmaker()() as session:
        xicheng = session.scalar(select(func.count()).select_from(Dossier).where(Dossier.archival_code.like("J102%")))
    with db.get_sessionmaker()() as session:
        page = search_dossiers(session, user(session, "archivist"), search_index(), SearchForm())
        assert page.total == xicheng
        assert all(f.archival_code.startswith("J102") for f in page.found)
        other = search_dossiers(session, user(session, "dongcheng"), search_index(), SearchForm())
        assert other.total > 0 and all(f.archival_code.startswith("J101") for f in other.found)
        # A 西城 retiree's full ID finds nothing for 东城, not even a count.
        cid = first_dossier(session).retiree.citizen_id
        assert search_dossiers(session, user(session, "dongcheng"), search_index(), SearchForm(q=cid)).total == 0
        assert find("archivist", cid) == ["J102-RS-000001"]
        assert find("archivist", cid[-6:])[0] == "J102-RS-000001"


def test_requesters_find_only_granted_dossiers_text_of_granted_classes_and_never_classified(engine, demo):
    with db.transaction() as session:
        granted, other = session.scalars(select(Dossier).where(Dossier.archival_code.like("J102%")).limit(2)).all()
        granted_id, other_id, code = granted.id, other.id, granted.archival_code
        sibao = user(session, "sibao")
        request = RetrievalRequest(
            number="CY-TEST-1",
            requester_id=sibao.id,
            requester_org_id=sibao.organisation_id,
            dossier_id=granted_id,
            bureau_id=granted.custodian_id,
            purpose="benefit_change",
            material_classes=[9],
            mode=RequestMode.online_view,
            valid_from=bureau_today(),
            valid_until=bureau_today() + timedelta(days=10),
            status=RequestStatus.approved,
        )
        session.add(request)
    add_pages(granted_id, ["第九类 退休审批表 经研究同意退休", "第一类 干部履历表 家庭主要成员"])
    with db.transaction() as session:  # pages 1 and 2 belong to a class-9 and a class-1 material
        materials = {m.material_class.top_class: m for m in session.get(Dossier, granted_id).materials}
        materials[9].first_page = materials[9].last_page = 1
        materials[1].first_page = materials[1].last_page = 2
    add_pages(other_id, ["退休审批表"])
    sync(engine)
    assert find("sibao", "退休审批表") == [code]
    assert find("sibao", "家庭主要成员") == []  # class 1 was not granted
    assert find("archivist", "家庭主要成员") == [code]
    with db.get_sessionmaker()() as session:
        page = search_dossiers(session, user(session, "sibao"), search_index(), SearchForm(q="退休审批表"))
        assert page.total == 1 and page.found[0].use_request.id == request.id
        assert [p.number for p in page.found[0].hit.pages] == [1]
    with db.transaction() as session:  # 西城 disables sibao (its own standing): its grants open nothing
        security = user(session, "security")
        set_standing(session, security, user(session, "sibao"), False, "test")
    assert find("sibao", "退休审批表") == []
    with db.transaction() as session:
        set_standing(session, user(session, "security"), user(session, "sibao"), True, "test")
    assert find("sibao", "退休审批表") == [code]
    with db.transaction() as session:  # classified: never in a requester's results
        session.get(Dossier, granted_id).retiree.secrecy = SecrecyLevel.confidential
    sync(engine)
    assert find("sibao", "退休审批表") == []
    with db.transaction() as session:  # and an expired request grants nothing
        session.get(Dossier, granted_id).retiree.secrecy = SecrecyLevel.none
        session.get(RetrievalRequest, request.id).valid_until = bureau_today() - timedelta(days=1)
        session.get(RetrievalRequest, request.id).valid_from = bureau_today() - timedelta(days=5)
    sync(engine)
    assert find("sibao", "退休审批表") == []


def test_search_page_api_and_logged_click_through(engine, client, login):
    sync(engine)
    headers = login("archivist")
    with db.get_sessionmaker()() as session:
        d = first_dossier(session)
        dossier_id, name, cid = d.id, d.retiree.name, d.retiree.citizen_id
    add_pages(dossier_id, ["职工登记表 参加工作时间 1978年3月 在红旗锻工车间"])
    sync(engine)
    r = client.get("/api/search", params={"q": "红旗锻工车间"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1
    (hit,) = body["results"]
    assert hit["archival_code"] == "J102-RS-000001" and cid not in r.text  # the ID is masked
    assert hit["pages"][0]["page"] == 1 and "<mark>红旗锻工车间</mark>" in hit["pages"][0]["snippet"]
    assert set(body["facets"]) == {"enterprise", "status", "material_class", "digitisation"}

    r = client.get("/search", params={"q": name}, headers=headers)
    assert r.status_code == 200 and "J102-RS-000001" in r.text and "检索" in r.text
    r = client.get(
        "/search/open",
        params={"dossier": dossier_id, "page": 1, "q": "红旗锻工车间"},
        headers=headers,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/dossiers/{dossier_id}?page=1#page-1"
    with db.get_sessionmaker()() as session:
        entry = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())).first()
        assert (entry.action, entry.dossier_id, entry.pages) == ("search_hit_opened", dossier_id, [1])
        assert "红旗锻工车间" in entry.detail
        assert verify_chain(session).ok
    other = login("dongcheng")
    r = client.get("/search/open", params={"dossier": dossier_id}, headers=other, follow_redirects=False)
    assert r.status_code == 404  # another bureau's dossier: answered like a missing one


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"status": "lost"}, "status"),
        ({"material_class": 11}, "material_class"),
        ({"born_from": "1960-01-01", "born_to": "1950-01-01"}, "born_to"),
        ({"born_from": "1960-13-01"}, "born_from"),
        ({"q": "档" * 201}, "q"),
    ],
)
def test_bad_search_input_names_the_field(client, login, params, field):
    r = client.get("/api/search", params=params, headers=login("archivist"))
    assert r.status_code in (400, 422), r.text
    assert r.json()["field"] == field


def test_kill_9_while_applying_loses_nothing(engine, demo):
    import os
    import subprocess
    import sys
    import time

    sync(engine)
    search_index().close()
    for round_, delay in enumerate((0.9, 1.3, 1.7)):  # killed at start-up, mid-batch or just after
        with db.transaction() as session:  # every retiree renamed: the whole demo queued again
            for n, retiree in enumerate(session.scalars(select(Retiree).order_by(Retiree.id))):
                retiree.name = f"改名{chr(0x4E00 + round_ * 500 + n * 3)}{chr(0x4E01 + round_ * 500 + n * 3)}"
            names = {d.archival_code: d.retiree.name for d in session.scalars(select(Dossier))}
        applier = subprocess.Popen(
            [sys.executable, "-m", "archive_service.cli", "search", "sync"],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        applier.kill()
        applier.wait()
    sync(engine)  # the index opens after the kills, and what was not applied is applied now
    assert verify(engine, search_index()).ok
    for code, name in sorted(names.items())[:5]:
        assert find("archivist" if code.startswith("J102") else "dongcheng", name) == [code]


def test_a_requesters_search_is_on_the_access_log_an_archivists_is_not(client, login):
    """A requester searching for a file he has no approval for left no trace: now the query, the filters
    and the hit count are on the hash chain (never what the hits hold), and the register lists them."""
    from sqlalchemy import select

    from archive_service import db
    from archive_service.access.log import verify_chain
    from archive_service.access.models import AccessLogEntry

    def searches() -> list[AccessLogEntry]:
        with db.get_sessionmaker()() as s:
            return s.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "search")).all()

    assert (
        client.get("/api/search", params={"q": "王建国", "material_class": 9}, headers=login("sibao")).status_code
        == 200
    )
    assert client.get("/search", params={"q": "110102"}, headers=login("sibao")).status_code == 200
    assert client.get("/search", headers=login("sibao")).status_code == 200  # the empty form, opened
    assert client.get("/search", params={"q": "", "born_from": ""}, headers=login("sibao")).status_code == 200
    assert client.get("/api/search", params={"q": "王建国"}, headers=login("archivist")).status_code == 200
    logged = searches()
    assert [(e.role, e.detail) for e in logged] == [
        ("requester", "检索“王建国”（材料类别=9），命中 0 份"),
        ("requester", "检索“110102”，命中 0 份"),
    ]
    with db.get_sessionmaker()() as s:
        assert verify_chain(s).ok
    register = client.get("/audit", params={"action": "search"}, headers=login("auditor"))
    assert register.status_code == 200 and "检索“王建国”" in register.text and "检索" in register.text


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # a rule of the service, not the database
def test_page_text_only_for_those_who_read_pages_and_ids_in_it_masked(engine, client, login):
    """Issue 22.5: OCR snippets carried full 18-digit IDs to clerks, approvers, auditors and administrators."""
    sync(engine)
    with db.get_sessionmaker()() as session:
        d = first_dossier(session)
        dossier_id, cid = d.id, d.retiree.citizen_id
    add_pages(dossier_id, [f"职工登记表 公民身份号码 {cid} 在红旗锻工车间工作"])
    sync(engine)
    # The system administrator finds nothing at all (三员分立: no files): refused.
    assert client.get("/api/search", params={"q": "红旗锻工车间"}, headers=login("admin")).status_code == 403
    for username in ("archivist", "clerk", "approver", "auditor"):
        r = client.get("/api/search", params={"q": "红旗锻工车间"}, headers=login(username))
        assert r.status_code == 200, r.text
        assert cid not in r.text and cid[6:14] not in r.text, username  # never the full number, nor its birth date
        (hit,) = r.json()["results"]
        assert [p["page"] for p in hit["pages"]] == [1], username  # every role sees which page matched
        snippet = hit["pages"][0]["snippet"]
        if username == "archivist":
            assert "<mark>红旗锻工车间</mark>" in snippet and f"{cid[:6]}********{cid[-4:]}" in snippet
        else:
            assert snippet == "", username  # no page text without the right to read the copy
    # Searching by the ID itself: the highlighted number in the text is masked too.
    r = client.get("/api/search", params={"q": cid}, headers=login("archivist"))
    assert cid not in r.text and r.json()["total"] >= 1


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_requesters_facets_do_not_tell_which_other_classes_a_file_holds(engine, client, login):
    sync(engine)
    archivist = client.get("/api/search", params={"q": ""}, headers=login("archivist")).json()
    assert "material_class" in archivist["facets"]
    requester = client.get("/api/search", params={"q": ""}, headers=login("sibao")).json()
    assert "material_class" not in requester["facets"]


def test_a_query_the_index_port_refuses_is_answered_in_chinese(client, login, monkeypatch):
    """The port's reasons are written for engineers; the person searching is told in the bureau's words."""
    from search import SearchError

    def refuse(*args, **kwargs):
        raise SearchError("limit must be 1 … 100")

    monkeypatch.setattr("archive_service.finding.service.SearchQuery", refuse)
    r = client.get("/api/search", params={"q": "王建国"}, headers=login("archivist"))
    assert r.status_code == 400 and r.json()["code"] == "search.query" and r.json()["field"] == "q"
    assert "检索条件无法处理" in r.json()["message"] and "limit" not in r.json()["message"]


def test_a_first_catalogue_reaches_the_index_when_its_page_total_matches_the_register(engine, client, login):
    """A first catalogue is written as rows (one insert for a whole batch's import), which the outbox's
    listener on ORM objects does not see; it queued the dossier only because the page total changed it.
    When the catalogue's total equalled the register's, the index never learnt the file's materials."""
    from tests.archive_service.test_catalogue_path import new_enterprise
    from tests.archive_service.test_transfers import as_xlsx, row

    clerk = login("clerk")
    register = as_xlsx([row(61, 姓名="司炉工", 页数=6)])
    batch = client.post("/api/transfers", data={"enterprise_id": new_enterprise(client, login)},
                        files={"file": ("名册.xlsx", register)}, headers=clerk).json()  # fmt: skip
    (item,) = batch["items"]
    got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": item["citizen_id"]}, headers=clerk)
    dossier_id = got.json()["dossier_id"]
    sync(engine)
    materials = [{"class_code": "1", "title": "职工登记表", "pages": 2},
                 {"class_code": "9", "title": "锅炉司炉操作证", "pages": 4}]  # fmt: skip
    r = client.put(f"/api/dossiers/{dossier_id}/catalogue", json={"materials": materials}, headers=clerk)
    assert r.status_code == 200, r.text
    assert client.get(f"/api/dossiers/{dossier_id}", headers=clerk).json()["pages"] == 6  # unchanged
    sync(engine)
    code = client.get(f"/api/dossiers/{dossier_id}", headers=clerk).json()["archival_code"]
    report = verify(engine, search_index())
    assert report.ok and not report.stale, report
    assert code in find("archivist", "锅炉司炉操作证")

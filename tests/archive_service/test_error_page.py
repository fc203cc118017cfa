"""The page of a refusal met away from its form: the field in the words of the page, the menu kept."""

import re

import pytest
from fastapi.routing import APIRoute

from archive_service.app import PAGE_ROUTERS
from archive_service.web.forms import FIELD_LABELS
from tests.archive_service.test_forms_keep_values import _cookie_login

ENGLISH_FIELD = re.compile(r"字段\s*[：:]?\s*[A-Za-z_]")


def _parameters(dependant, into: set[str]) -> set[str]:
    for p in dependant.query_params + dependant.path_params + dependant.body_params:
        into.add(p.alias)
    for d in dependant.dependencies:
        _parameters(d, into)
    return into


def test_every_page_parameter_has_a_label_people_know():
    names: set[str] = set()
    for router in PAGE_ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            _parameters(route.dependant, names)
    assert len(names) > 50  # the walk found the pages' parameters
    assert sorted(names - FIELD_LABELS.keys()) == []


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # page behaviour, not a database rule
def test_the_error_page_names_the_field_in_words_and_keeps_the_menu(client):
    _cookie_login(client, "archivist")
    # Refused at the door (a character nobody sees in the search words) and by a parameter's type.
    for path, said in (("/dossiers?q=周\u200b某", "检索词：含有不可见字符"), ("/dossiers?page=二", "页码应为整数")):
        r = client.get(path)
        assert r.status_code == 422, (path, r.status_code)
        assert "无法完成操作" in r.text and f'role="alert">{said}' in r.text, r.text[:1500]
        assert not ENGLISH_FIELD.search(r.text), ENGLISH_FIELD.search(r.text)
        # Signed in: the menu and who is signed in, to go on from here.
        assert 'href="/dossiers"' in r.text and 'action="/logout"' in r.text
    r = client.get("/dossiers/987654321")
    assert r.status_code == 404 and 'action="/logout"' in r.text
    # Signed out: the same page, no menu.
    client.cookies.clear()
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "页面或资源不存在" in r.text and 'action="/logout"' not in r.text


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # page behaviour, not a database rule
def test_a_fault_of_ours_is_answered_in_chinese_with_a_number_to_quote(client, login, monkeypatch, caplog):
    """An unexpected exception answered "Internal Server Error" in English, on pages and in the API."""
    from fastapi.testclient import TestClient

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("archive_service.dossiers.service.list_dossiers", broken)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    api = quiet.get("/api/dossiers", headers=login("archivist"))
    assert api.status_code == 500 and api.json()["code"] == "internal"
    incident = re.search(r"编号 ([0-9A-F]{8})", api.json()["message"])
    assert incident and incident.group(1) in caplog.text  # the same number on the log, with the traceback
    assert "database went away" in caplog.text and "database went away" not in api.text
    _cookie_login(quiet, "archivist")
    page = quiet.get("/dossiers")
    assert page.status_code == 500 and "系统内部错误" in page.text and 'action="/logout"' in page.text
    assert not ENGLISH_FIELD.search(page.text) and "Internal Server Error" not in page.text

"""Every page form that is refused comes back as the person typed it (issue 18.3, web/forms.py):
the same page, the error beside the form, each text field, choice and tick as sent — and a
neighbouring form with a field of the same name is left alone."""

from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.db import get_engine
from archive_service.dossiers.models import Dossier, DossierStatus
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.shelving.models import Room


class _Forms(HTMLParser):
    """The fields of each form of a page, by the form's action: {action: {name: [value or selected/checked]}}."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, list[str]]] = {}
        self._action: str | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._action = a.get("action") or ""
            self.forms.setdefault(self._action, {})
        if self._action is None:
            return
        fields = self.forms[self._action]
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("hidden", "file", "submit"):
            if a.get("type") in ("checkbox", "radio"):
                fields.setdefault(name, [])
                if "checked" in a:
                    fields[name].append(a.get("value") or "")
            else:
                fields.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            fields[self._select].append(a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea and self._action is not None:
            self.forms[self._action][self._textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._action = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(html: str) -> dict[str, dict[str, list[str]]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _cookie_login(client, username: str) -> None:
    from tests.conftest import cookie_login

    cookie_login(client, username)  # the password, then the authenticator's code where the bureau asks for it


def _refused(client, action: str, data: dict, files=None) -> dict[str, dict[str, list[str]]]:
    r = client.post(action, data=data, files=files, follow_redirects=False)
    assert r.status_code in (400, 404, 409, 413, 422), (action, r.status_code, r.text[:300])
    assert 'role="alert"' in r.text, action  # the reason is on the page
    return forms_of(r.text)


def _ids() -> dict[str, int]:
    with Session(get_engine()) as s:
        enterprises = s.scalars(
            select(Organisation.id).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.name)
        ).all()
        dossier = s.scalars(
            select(Dossier.id).where(Dossier.status == DossierStatus.in_custody).order_by(Dossier.id)
        ).first()
        store_rooms = s.scalars(select(Room.id).order_by(Room.id)).all()
        return {"enterprise": enterprises[-1], "first_enterprise": enterprises[0], "dossier": dossier,
                "room": store_rooms[0]}  # fmt: skip


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # page behaviour, not a database rule
def test_a_refused_register_keeps_its_enterprise_and_rows(client):
    """The issue's case: the corrected re-upload must go under the enterprise first chosen, not the first one."""
    _cookie_login(client, "clerk")
    ids = _ids()
    assert ids["enterprise"] != ids["first_enterprise"]
    rows = "姓名\t公民身份号码\n张某\t123"
    forms = _refused(client, "/transfers/pasted", {"enterprise_id": ids["enterprise"], "rows": rows})
    assert forms["/transfers/pasted"]["enterprise_id"] == [str(ids["enterprise"])]
    assert forms["/transfers/pasted"]["rows"][0].strip() == rows
    # The upload form beside it was not the one sent: it keeps its own default, not the pasted form's values.
    assert forms["/transfers"]["enterprise_id"] == []
    csv = "姓名,公民身份号码\n张某,123\n".encode()
    forms = _refused(client, "/transfers", {"enterprise_id": ids["enterprise"]}, {"file": ("名册.csv", csv)})
    assert forms["/transfers"]["enterprise_id"] == [str(ids["enterprise"])]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # page behaviour, not a database rule
def test_a_refused_request_keeps_every_field(client):
    _cookie_login(client, "sibao")
    sent = {
        "dossier": "J999-RS-000404",  # no such file: refused
        "purpose": "benefit_change",
        "purpose_detail": "核对参加工作时间",
        "material_classes": ["2", "4"],
        "mode": "certified_copy",
        "valid_from": "2026-12-01",
        "valid_until": "2026-12-20",
        "reader_name": "周某",
        "reader_citizen_id": "11010219800101002X",
        "relationship": "none",
    }
    form = _refused(client, "/requests", sent)["/requests"]
    for name, value in sent.items():
        expected = value if isinstance(value, list) else [value]
        if name in ("purpose", "relationship") and not form[name]:
            continue  # a choice the page does not offer is not made up
        assert form[name] == expected, name


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # page behaviour, not a database rule
def test_an_empty_date_is_a_named_refusal_on_the_same_page(client):
    _cookie_login(client, "sibao")
    r = client.post("/requests", data={"dossier": "x", "valid_from": "", "valid_until": "2026-12-20"})
    assert r.status_code == 422
    assert 'action="/requests"' in r.text and "不是日期" in r.text
    assert forms_of(r.text)["/requests"]["valid_until"] == ["2026-12-20"]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_refused_forms_of_the_dossier_page_come_back_on_the_dossier_page(client):
    _cookie_login(client, "clerk")
    ids = _ids()
    supplement = {"class_code": "99", "title": "职工退休审批表", "date_formed": "1998.3", "copies": "1",
                  "pages": "2", "source": "某某公司人事部", "remarks": "补报"}  # fmt: skip
    action = f"/dossiers/{ids['dossier']}/supplements"
    r = client.post(action, data=supplement, files={"scans": ("", b"")})
    assert r.status_code in (400, 422), r.text[:300]
    assert (
        'role="alert"' in r.text and "<h1>" in r.text and 'id="supplement-form"' in r.text
    )  # the dossier page, not the error page
    form = forms_of(r.text)[action]
    assert {k: v[0] for k, v in form.items()} == supplement
    _cookie_login(client, "archivist")
    place = f"/shelving/dossiers/{ids['dossier']}/slot"
    r = client.post(place, data={"slot_code": "NO-SUCH-SLOT"})
    assert r.status_code in (404, 422) and 'id="place-form"' in r.text
    assert forms_of(r.text)[place]["slot_code"] == ["NO-SUCH-SLOT"]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_refused_shelving_and_planning_forms_keep_their_values(client):
    _cookie_login(client, "archivist")
    ids = _ids()
    room = {"name": "新库房", "kind": "store", "usable_area_m2": "一百"}
    assert {k: v[0] for k, v in _refused(client, "/shelving/rooms", room)["/shelving/rooms"].items()} == room
    unit = {"room_id": str(ids["room"]), "code": "Z9", "columns": "x", "sections": "5", "layers": "7", "sides": "1",
            "usable_width_mm": "900", "profile_id": "", "capacity_per_layer": ""}  # fmt: skip
    form = _refused(client, "/shelving/units", unit)["/shelving/units"]
    assert {k: (v[0] if v else "") for k, v in form.items()} == unit
    readings = f"/shelving/rooms/{ids['room']}/readings"
    reading = {"at": "2026-11-30 09:00", "temperature_c": "十八", "humidity_pct": "55"}
    assert {k: v[0] for k, v in _refused(client, readings, reading)[readings].items()} == reading
    _cookie_login(client, "admin")
    projection = {"enterprise_id": str(ids["enterprise"]), "year": "二〇三〇", "retirees": "12"}
    form = _refused(client, "/planning/projections", projection)["/planning/projections"]
    assert {k: v[0] for k, v in form.items()} == projection

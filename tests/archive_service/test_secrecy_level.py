"""Issue 37 item 14: a file's 密级 (非密、秘密、机密、绝密; 涉密（密级未定） for the earlier yes/no flag) instead of a
yes/no 涉密 flag. The migration keeps every flagged file classified without inventing a level; the register's 涉密
column takes a level; the archivist records a file's level (logged); any level but 非密 keeps what the flag gated:
no online use, received by an archivist only."""

from datetime import date

from alembic import command
from sqlalchemy import select, text

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.dossiers.models import Dossier, Retiree
from archive_service.migrate import alembic_config, upgrade
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel
from archive_service.transfers.models import TransferBatch
from archive_service.values import SecrecyLevel
from tests.archive_service.test_enterprises import credit_code
from tests.archive_service.test_forms_keep_values import _cookie_login
from tests.archive_service.test_requests import form
from tests.archive_service.test_transfers import as_csv, row


def test_the_migration_keeps_flagged_files_classified_with_their_level_not_invented(engine):
    """Files flagged 涉密 before become 涉密（密级未定）; unflagged ones 非密."""
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0035")
        connection.commit()
    with db.transaction() as session:
        enterprise = Organisation(name="迁移测试厂", kind=OrganisationKind.enterprise, credit_code=credit_code(
            "91110102MA01M1G2R"), region_code="110102", level=OrganisationLevel.district)  # fmt: skip
        session.add(enterprise)
        session.flush()
        for name, flagged in (("甲", True), ("乙", False)):
            session.execute(
                text(
                    "INSERT INTO retiree (name, sex, birth_date, enterprise_id, hukou_region_code, "
                    "residence_region_code, party_member, leader_cadre, classified_unit) "
                    "VALUES (:n, 'M', :b, :e, '110102', '110102', false, false, :c)"
                ),
                {"n": name, "b": date(1958, 1, 1), "e": enterprise.id, "c": flagged},
            )
    upgrade(engine)
    with db.get_sessionmaker()() as session:
        query = select(Retiree.name, Retiree.secrecy).where(Retiree.name.in_(["甲", "乙"]))
        levels = dict(session.execute(query).all())
    assert levels == {"甲": SecrecyLevel.unrated, "乙": SecrecyLevel.none}
    assert SecrecyLevel.unrated.label == "涉密（密级未定）" and SecrecyLevel.unrated.classified


def test_the_register_gives_a_level_and_a_classified_one_is_received_by_an_archivist_only(client, login):
    _cookie_login(client, "clerk")
    with db.get_sessionmaker()() as session:
        enterprise_id = session.scalars(
            select(Organisation.id).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.id)
        ).first()
    rows = [row(81, 涉密="机密"), row(82, 涉密="是"), row(83), row(84, 涉密="内部")]
    files = {"file": ("名册.csv", as_csv(rows), "text/csv")}
    started = client.post("/transfers", data={"enterprise_id": enterprise_id}, files=files, follow_redirects=False)
    assert started.status_code == 303, started.text[:800]
    page = client.get(started.headers["location"]).text
    assert '移交81 <span class="tag warn">机密</span>' in page
    assert '移交82 <span class="tag warn">涉密（密级未定）</span>' in page
    assert "移交83 <span" not in page and "移交84 <span" not in page
    with db.get_sessionmaker()() as session:
        batch = session.scalar(select(TransferBatch).where(TransferBatch.from_org_id == enterprise_id))
        levels = {i.retiree_name: i.secrecy for i in batch.items}
    assert levels == {"移交81": SecrecyLevel.confidential, "移交82": SecrecyLevel.unrated,
                      "移交83": SecrecyLevel.none, "移交84": SecrecyLevel.none}  # fmt: skip

    # A word that is no 密级: refused naming the column.
    bad = client.post(
        "/api/transfers",
        data={"enterprise_id": enterprise_id},
        files={"file": ("名册.csv", as_csv([row(85, 涉密="很机密")]), "text/csv")},
        headers=login("clerk"),
    )
    assert bad.status_code == 422, bad.text
    assert "涉密" in bad.text and "密级应为" in bad.text


def test_the_archivist_records_a_files_level_and_a_classified_file_is_not_served_online(client, login, digitised):
    archivist, sibao = login("archivist"), login("sibao")
    url = f"/api/dossiers/{digitised.id}/secrecy"
    bad = client.put(url, json={"secrecy": "very_secret"}, headers=archivist)
    assert bad.status_code == 422 and bad.json()["field"].endswith("secrecy")
    assert client.put(url, json={"secrecy": "secret"}, headers=sibao).status_code == 403

    # An approved online request is open: the file cannot be made classified until it is concluded.
    asked = client.post("/api/requests", json=form(digitised), headers=sibao)
    assert asked.status_code == 201, asked.text
    number = asked.json()["number"]
    approved = client.post(f"/api/requests/{asked.json()['id']}/decision", json={"approve": True},
                           headers=login("approver"))  # fmt: skip
    assert approved.status_code == 200
    _cookie_login(client, "archivist")
    refused = client.post(f"/dossiers/{digitised.id}/secrecy", data={"secrecy": "secret"})
    assert refused.status_code == 409 and number in refused.text and 'data-field="secrecy"' in refused.text
    closed = client.post(f"/api/requests/{asked.json()['id']}/close", json={"note": "查阅完毕"}, headers=archivist)
    assert closed.status_code == 200, closed.text

    # On the dossier page: recorded, shown, logged before → after.
    saved = client.post(f"/dossiers/{digitised.id}/secrecy", data={"secrecy": "secret"}, follow_redirects=True)
    assert saved.status_code == 200 and "密级已记录" in saved.text
    shown = saved.text.split('id="secrecy-level">', 1)[1].split("<", 1)[0]
    assert shown.strip() == "秘密" and "密级：秘密 · 不提供网上利用" in saved.text
    with db.get_sessionmaker()() as session:
        entry = session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.action == "secrecy_changed").order_by(AccessLogEntry.seq)
        ).all()[-1]
        code = session.get(Dossier, digitised.id).archival_code
    assert entry.dossier_id == digitised.id and entry.detail == f"{code} 密级：非密 → 秘密"
    assert client.get(f"/api/dossiers/{digitised.id}", headers=archivist).json()["secrecy"] == "secret"

    # What the flag gated still holds for the level: no online request; on site is allowed.
    online = client.post("/api/requests", json=form(digitised), headers=sibao)
    assert online.status_code == 403 and online.json()["field"] == "mode"
    assert "密级为秘密" in online.json()["message"]
    assert client.post("/api/requests", json=form(digitised, mode="on_site"), headers=sibao).status_code == 201

    # Made 非密 again: online requests are taken again.
    assert client.put(url, json={"secrecy": "none"}, headers=archivist).json()["classified"] is False
    assert client.post("/api/requests", json=form(digitised), headers=sibao).status_code == 201

"""Handover windows by enterprise level (issue 37 item 2): 西人社发〔2020〕14号 一、四 — 区属 by 2020-09-30,
央属·市属 by 2020-12-31; 重庆 实施方案 四(一)、七 — 市属 by 2017-12-31, 中央驻渝 by the end of 2020. Each
enterprise is 逾期 only after its own level's date, on SQLite and PostgreSQL, with enterprises the test makes."""

from datetime import date

from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel
from archive_service.transfers import campaign
from archive_service.values import credit_code_check_char
from tests.archive_service.test_transfers import error_of, user

LEVELS = {"央属电力公司": OrganisationLevel.central, "市属机床厂": OrganisationLevel.city,
          "区属副食店": OrganisationLevel.district}  # fmt: skip


def enterprises(session) -> dict[str, int]:
    """Three enterprises, one per level, each owing one file that has not come."""
    clerk = user(session, "clerk")
    made = {}
    for n, (name, level) in enumerate(LEVELS.items()):
        first17 = f"9111010257{n:07d}"
        org = Organisation(name=name, kind=OrganisationKind.enterprise, region_code="110102", level=level,
                           credit_code=first17 + credit_code_check_char(first17))  # fmt: skip
        session.add(org)
        session.flush()
        campaign.set_quota(session, clerk, org.id, 1, "西人社核〔2020〕3号")
        made[name] = org.id
    return made


def states(session, today: date) -> dict[str, tuple[str, date | None]]:
    figures = campaign.progress(session, user(session, "clerk"), today)
    return {r.enterprise: (figures.state(r), figures.closes_on(r)) for r in figures.rows if r.enterprise in LEVELS}


def test_xicheng_closes_district_enterprises_in_september_and_central_and_city_ones_at_years_end(engine, demo):
    """西人社发〔2020〕14号 一、四: 2020年9月底前完成区属…；2020年底完成央属、市属 — on 15 October only the 区属
    enterprise is 逾期; on 5 January all three."""
    with db.transaction() as session:
        enterprises(session)
        admin = user(session, "admin")
        campaign.set_preset(session, admin, "xicheng", "127.0.0.1")
        october = states(session, date(2020, 10, 15))
        assert october == {
            "区属副食店": ("逾期", date(2020, 9, 30)),
            "央属电力公司": ("进行中", date(2020, 12, 31)),
            "市属机床厂": ("进行中", date(2020, 12, 31)),
        }
        assert {s for s, _ in states(session, date(2021, 1, 5)).values()} == {"逾期"}
        figures = campaign.progress(session, user(session, "clerk"), date(2020, 10, 15))
        assert figures.rows[0].enterprise == "区属副食店"  # the late first
        logged = session.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.action == "policy_changed")).all()
        assert any("2020-05-26 至 2020-09-30（央属 2020-12-31、市属 2020-12-31）" in d for d in logged)


def test_chongqing_gives_central_enterprises_until_the_end_of_2020(engine, demo):
    """重庆 实施方案 四(一): 2017 年 7 月 1 日至 12 月 31 日集中移交; 七: 中央驻渝国有企业……2020 年底前基本完成."""
    with db.transaction() as session:
        enterprises(session)
        campaign.set_preset(session, user(session, "admin"), "chongqing", "127.0.0.1")
        found = states(session, date(2019, 6, 1))
        assert found["央属电力公司"] == ("进行中", date(2020, 12, 31))
        assert found["市属机床厂"] == ("逾期", date(2017, 12, 31))
        assert found["区属副食店"][0] == "逾期"


def test_a_typed_level_date_is_checked_and_a_final_date_still_counts(engine, demo):
    """A bureau types its own notice's dates per level (003 一、四 as the example); a level's date before the
    window opens is refused naming the level; 红河 第六条's final date (10 月底) still marks 超过最终期限."""
    with db.transaction() as session:
        enterprises(session)
        admin = user(session, "admin")
        args = (date(2020, 5, 26), date(2020, 9, 30), None, "区政府通知 四", "127.0.0.1")
        error = error_of(lambda: campaign.set_campaign(session, admin, *args, {"central": date(2020, 1, 1)}))
        assert (error.field, error.status) == ("closes_central", 422)
        assert error.message == "央属企业截止日期 2020-01-01 早于开始日期 2020-05-26"
        error = error_of(lambda: campaign.set_campaign(session, admin, *args, {"state": date(2020, 12, 31)}))
        assert error.field == "by_level" and "央属" in error.message
        campaign.set_campaign(session, admin, *args, {"central": date(2020, 12, 31), "city": None})
        found = states(session, date(2020, 11, 1))
        assert found["央属电力公司"][0] == "进行中" and found["市属机床厂"] == ("逾期", date(2020, 9, 30))
        final = (date(2020, 5, 26), date(2020, 9, 30), date(2020, 10, 31), "红政办规〔2020〕6号 第六条", "127.0.0.1")
        campaign.set_campaign(session, admin, *final)  # no level of its own any more
        assert {s for s, _ in states(session, date(2020, 11, 1)).values()} == {"超过最终期限"}


def test_the_campaign_page_shows_each_enterprises_closing_date(client, login):
    """西人社发〔2020〕14号 一、四 on the page: the window names the levels' dates, each row its own."""
    with db.transaction() as session:
        enterprises(session)
    admin = login("admin")
    assert client.post("/transfers/campaign", data={"preset": "xicheng"}, headers=admin).status_code in (200, 303)
    page = client.get("/transfers/campaign", headers=admin).text
    window = page.split('id="campaign-window"')[1].split("</p>")[0]
    assert "央属企业 <b>2020-12-31</b>" in window and "市属企业 <b>2020-12-31</b>" in window
    row = page.split('data-enterprise="区属副食店"')[1].split("</tr>")[0]
    assert "<td>区属</td><td>2020-09-30</td>" in row
    row = page.split('data-enterprise="央属电力公司"')[1].split("</tr>")[0]
    assert "<td>央属</td><td>2020-12-31</td>" in row
    typed = {"opens_on": "2020-05-26", "closes_on": "2020-09-30", "basis": "区政府通知", "closes_city": "2020-01-01"}
    refused = client.post("/transfers/campaign", data=typed, headers=admin)
    assert refused.status_code == 422 and "市属企业截止日期 2020-01-01 早于开始日期 2020-05-26" in refused.text

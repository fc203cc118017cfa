"""Which bureau receives a retiree's file is the bureau's own rule, one per seed text; a row that belongs
elsewhere is refused naming the bureau it belongs to. A defunct enterprise hands over through its present
managing unit, with the reason; a batch may carry the human-resources bureau's approval reference."""

import pytest
from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.errors import ArchiveError, Forbidden
from archive_service.organisations import jurisdiction
from archive_service.organisations.jurisdiction import JurisdictionRule
from archive_service.organisations.service import set_jurisdiction
from archive_service.transfers import intake, receipt
from archive_service.transfers.models import TransferItem
from tests.archive_service.test_transfers import enterprise, error_of, new_batch, row, user

CHAOYANG, DONGCHENG, XICHENG = "110105", "110101", "110102"
XICHENG_ENTERPRISE, DONGCHENG_ENTERPRISE = 0, 4


def problems(session, rows, n: int) -> dict[int, tuple[str, str, str]]:
    error = error_of(lambda: new_batch(session, rows, n=n))
    assert error.code == "register.rows"
    return {p["row"]: (p["column"], p["code"], p["message"]) for p in error.problems}


def rule(session, chosen: JurisdictionRule) -> None:
    set_jurisdiction(session, user(session, "admin"), chosen.value, "127.0.0.1")


def test_xicheng_takes_its_own_hukou_and_names_the_district_of_the_others(engine, demo):
    """西人社发〔2020〕14号 五: 户籍地在西城区的，负责接收…；户籍地为外区的，向其他区移交 — the enterprise being
    registered in 西城 and the retiree living there do not make a 朝阳 户籍 Xicheng's (the demo bureau's rule)."""
    with db.transaction() as session:
        assert jurisdiction.rule_of(user(session, "clerk").organisation) is JurisdictionRule.hukou
        found = problems(
            session,
            [
                row(1, 户籍地区划代码=CHAOYANG, 居住地区划代码=CHAOYANG),
                row(2, 户籍地区划代码=DONGCHENG, 居住地区划代码=XICHENG),
                row(3, 户籍地区划代码=XICHENG, 居住地区划代码=CHAOYANG),
            ],
            XICHENG_ENTERPRISE,
        )
        assert set(found) == {2, 3}
        column, code, message = found[2]
        assert (column, code) == ("户籍地区划代码", "retiree.area")
        assert "户籍地 110105 不在本馆辖区" in message and "西人社发〔2020〕14号 五" in message
        assert message.endswith("应移交区划 110105 所在地的档案馆")  # no 朝阳 bureau in this installation
        assert found[3][2].endswith("应移交北京市东城区档案馆")
        accepted = new_batch(session, [row(3, 户籍地区划代码=XICHENG, 居住地区划代码=CHAOYANG)], n=XICHENG_ENTERPRISE)
        assert len(accepted.items) == 1


def test_xicheng_takes_a_central_enterprises_retiree_who_lives_there_whatever_the_hukou(engine, demo):
    """西人社发〔2020〕14号 五(一): 负责接收户籍地或常住地在西城区的央属国有企业退休人员…档案; 五(二)(三): 市属、
    区属 by 户籍. A 央属 retiree living in 西城 with a 朝阳 户籍 is Xicheng's; a 市属 one is not."""
    from archive_service.organisations.models import OrganisationLevel

    with db.transaction() as session:
        central = enterprise(session, XICHENG_ENTERPRISE)
        central.level = OrganisationLevel.central
        session.flush()
        found = problems(
            session,
            [
                row(1, 户籍地区划代码=CHAOYANG, 居住地区划代码=XICHENG),  # 常住地 in 西城: taken
                row(2, 户籍地区划代码=CHAOYANG, 居住地区划代码=DONGCHENG),  # neither: sent to the 户籍地
                row(3, 户籍地区划代码=XICHENG, 居住地区划代码=CHAOYANG),
            ],
            XICHENG_ENTERPRISE,
        )
        assert set(found) == {3}  # the sheet's line: row 2 under the header
        assert "央属企业退休人员户籍地 110105 和常住地 110101 不在本馆辖区" in found[3][2]
        assert "西人社发〔2020〕14号 五" in found[3][2]
        central.level = OrganisationLevel.city  # 市属: the same person is refused by 户籍
        session.flush()
        city = problems(session, [row(1, 户籍地区划代码=CHAOYANG, 居住地区划代码=XICHENG)], XICHENG_ENTERPRISE)
        assert city[2][:2] == ("户籍地区划代码", "retiree.area")
        central.level = OrganisationLevel.central
        session.flush()
        taken = new_batch(session, [row(1, 户籍地区划代码=CHAOYANG, 居住地区划代码=XICHENG)], n=XICHENG_ENTERPRISE)
        assert len(taken.items) == 1


def test_jinning_sends_the_others_to_the_enterprises_registered_place(engine, demo):
    """晋政办通〔2020〕18号 第二十一条(三): 长期居住地（或者户口所在地）不在…的，移交至企业法人注册地区档案馆."""
    with db.transaction() as session:
        rule(session, JurisdictionRule.residence_else_enterprise)
        found = problems(session, [row(1, 户籍地区划代码="310101", 居住地区划代码="310104")], DONGCHENG_ENTERPRISE)
        column, code, message = found[2]
        assert (column, code) == ("户籍地区划代码", "retiree.area")
        assert "第二十一条(三)" in message and message.endswith("应移交北京市东城区档案馆")
        assert new_batch(session, [row(1, 户籍地区划代码="310101", 居住地区划代码=XICHENG)], n=DONGCHENG_ENTERPRISE)


def test_chongqing_goes_by_the_place_of_insurance_which_the_register_must_give(engine, demo):
    """重庆 实施方案 三(二)1: 以企业参保地为主 — the 参保地 decides, and a row without it cannot be placed."""
    with db.transaction() as session:
        rule(session, JurisdictionRule.insured_place)
        found = problems(
            session,
            [
                row(1, 参保地区划代码=""),
                row(2, 参保地区划代码=DONGCHENG),
                row(3, 户籍地区划代码=CHAOYANG, 居住地区划代码=CHAOYANG, 参保地区划代码=XICHENG),
            ],
            DONGCHENG_ENTERPRISE,
        )
        assert set(found) == {2, 3}
        assert found[2][:2] == ("参保地区划代码", "insured_region_code.required")
        assert "按参保地接收" in found[2][2]
        assert found[3][:2] == ("参保地区划代码", "retiree.area")
        assert "参保地 110101 不在本馆辖区" in found[3][2] and found[3][2].endswith("应移交北京市东城区档案馆")
        batch = new_batch(
            session, [row(3, 户籍地区划代码=CHAOYANG, 居住地区划代码=CHAOYANG, 参保地区划代码=XICHENG)], n=4
        )
        assert [i.insured_region_code for i in batch.items] == [XICHENG]


def test_honghe_needs_both_the_residence_and_the_insurance_in_the_county(engine, demo):
    """红政办规〔2020〕6号 第三条: 户籍所在地（或者居住地）和…参保地在红河县的 — both conditions."""
    with db.transaction() as session:
        rule(session, JurisdictionRule.insured_and_residence)
        found = problems(
            session,
            [
                row(1, 户籍地区划代码=CHAOYANG, 居住地区划代码=CHAOYANG, 参保地区划代码=XICHENG),
                row(2, 户籍地区划代码=XICHENG, 居住地区划代码=XICHENG, 参保地区划代码=DONGCHENG),
                row(3, 户籍地区划代码=CHAOYANG, 居住地区划代码=XICHENG, 参保地区划代码=XICHENG),
            ],
            XICHENG_ENTERPRISE,
        )
        assert set(found) == {2, 3}
        assert found[2][:2] == ("居住地区划代码", "retiree.area") and "红政办规〔2020〕6号 第三条" in found[2][2]
        assert found[3][:2] == ("参保地区划代码", "retiree.area")


def test_only_the_administrator_sets_the_rule_and_the_change_is_logged(engine, demo):
    with db.transaction() as session:
        with pytest.raises(Forbidden):
            set_jurisdiction(session, user(session, "archivist"), "insured_place", "127.0.0.1")
        with pytest.raises(ArchiveError) as unknown:
            set_jurisdiction(session, user(session, "admin"), "参保地", "127.0.0.1")
        assert unknown.value.field == "rule" and "户籍地在本区" in unknown.value.message
        rule(session, JurisdictionRule.insured_place)
        entry = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())).first()
        assert entry.action == "policy_changed" and entry.user_id == user(session, "admin").id
        assert "户籍地在本区" in entry.detail and "→ 企业参保地在本区县" in entry.detail


def test_a_defunct_enterprise_hands_over_through_its_managing_unit_with_the_reason(engine, demo):
    """红政办规〔2020〕6号 第七条 / 大政办发〔2017〕49号 第十二条(一): 主体已消失的，由现管理单位办理移交;
    西人社发〔2020〕14号 五: 经…人力社保局核准 — the reference goes with the batch and onto the receipt."""
    with db.transaction() as session:
        clerk, eid = user(session, "clerk"), enterprise(session).id
        data = b"x"
        for handover, field in (
            (intake.Handover(managing_unit="北京一轻控股有限责任公司"), "managing_reason"),
            (intake.Handover(managing_reason="企业已注销"), "managing_unit"),
            (intake.Handover(approval_reference="核" * 101), "approval_reference"),
        ):
            error = error_of(lambda h=handover: intake.import_register(session, clerk, eid, data, "名册.csv", h))
            assert error.field == field
        from tests.archive_service.test_transfers import as_csv

        batch = intake.import_register(
            session,
            clerk,
            eid,
            as_csv([row(1)]),
            "名册.csv",
            intake.Handover(" 北京一轻控股有限责任公司 ", "企业已注销，由集团公司代为移交", "西人社核〔2026〕12号"),
        )
        assert (batch.managing_unit, batch.managing_reason, batch.approval_reference) == (
            "北京一轻控股有限责任公司",
            "企业已注销，由集团公司代为移交",
            "西人社核〔2026〕12号",
        )
        party = receipt.manifest(session, batch)["from"]
        assert party["managing_unit"] == "北京一轻控股有限责任公司"
        assert party["approval_reference"] == "西人社核〔2026〕12号"
        assert session.scalar(select(TransferItem.insured_region_code).where(TransferItem.batch_id == batch.id))

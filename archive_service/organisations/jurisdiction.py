"""Which bureau receives a retiree's file. The seeds differ by place, so the rule is a setting of the
bureau (its clause printed with every refusal), not a constant:

- 晋宁 (002 第二十一条(三)): the bureau of the retiree's residence or 户籍; if neither is in the district,
  the bureau of the enterprise's registered place;
- 西城 (003 五): 央属 enterprises' retirees whose 户籍 *or* 常住地 is in the district (五(一)); 市属 and 区属
  ones by 户籍 only (五(二)(三)); those whose 户籍 is in another district are sent there;
- 重庆 (000 三(二)1): the place of social-insurance enrolment (参保地);
- 红河 (001 第三条): 户籍 or residence *and* 参保地 in the county.
"""

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel


class JurisdictionRule(enum.StrEnum):
    residence_else_enterprise = "residence_else_enterprise"
    hukou = "hukou"
    insured_place = "insured_place"
    insured_and_residence = "insured_and_residence"


@dataclass(frozen=True)
class RuleText:
    name: str
    basis: str  # printed with the setting and with every refusal


RULES: dict[JurisdictionRule, RuleText] = {
    JurisdictionRule.residence_else_enterprise: RuleText(
        "户籍地或居住地在本区；均不在本区的，企业法人注册地在本区",
        "晋政办通〔2020〕18号 第二十一条(三)",
    ),
    JurisdictionRule.hukou: RuleText(
        "户籍地在本区（央属企业退休人员户籍地或常住地在本区）；户籍地为外区的，向户籍地所在区移交",
        "西人社发〔2020〕14号 五",
    ),
    JurisdictionRule.insured_place: RuleText(
        "企业参保地在本区县",
        "重庆市市属国有重点企业退休人员社会化管理试点工作实施方案 三(二)1",
    ),
    JurisdictionRule.insured_and_residence: RuleText(
        "户籍地（或居住地）和参保地均在本县",
        "红政办规〔2020〕6号 第三条",
    ),
}
# Bureaus that set nothing keep the rule every earlier release applied.
DEFAULT = JurisdictionRule.residence_else_enterprise

INSURED = "参保地区划代码"
HUKOU = "户籍地区划代码"
RESIDENCE = "居住地区划代码"


BUREAUS = select(Organisation).where(Organisation.kind == OrganisationKind.bureau)  # where a file may belong


def rule_of(bureau: Organisation) -> JurisdictionRule:
    return JurisdictionRule(bureau.jurisdiction_rule or DEFAULT)


def area_prefix(org: Organisation) -> str:
    """The leading digits of GB/T 2260 codes inside an organisation's area, by its level."""
    return {
        OrganisationLevel.district: org.region_code,
        OrganisationLevel.other: org.region_code,  # no government level: its registered place alone
        OrganisationLevel.city: org.region_code[:4],
        OrganisationLevel.provincial: org.region_code[:2],
        OrganisationLevel.central: "",
    }[org.level]


@dataclass(frozen=True)
class Elsewhere:
    column: str  # the register column that decides
    code: str  # the region code the file belongs to
    reason: str  # the places that decided, e.g. 户籍地 110105


def place_of_file(
    rule: JurisdictionRule,
    here: str,
    enterprise: Organisation,
    hukou: str,
    residence: str,
    insured: str | None,
) -> Elsewhere | None:
    """None when the row belongs to the bureau whose area starts with `here`; else where it belongs.
    A missing 参保地 under a rule that needs it is the caller's (a required-cell) problem."""
    enterprise_region = enterprise.region_code
    inside = lambda code: bool(code) and code.startswith(here)  # noqa: E731
    if rule is JurisdictionRule.residence_else_enterprise:
        if inside(hukou) or inside(residence) or inside(enterprise_region):
            return None
        return Elsewhere(
            HUKOU, enterprise_region, f"户籍地 {hukou}、居住地 {residence} 和企业注册地 {enterprise_region}"
        )
    if rule is JurisdictionRule.hukou:
        if enterprise.level is OrganisationLevel.central:  # 003 五(一): 户籍地或常住地在西城区的央属…
            if inside(hukou) or inside(residence):
                return None
            return Elsewhere(HUKOU, hukou, f"央属企业退休人员户籍地 {hukou} 和常住地 {residence}")
        return None if inside(hukou) else Elsewhere(HUKOU, hukou, f"户籍地 {hukou}")
    if not insured:
        return None
    if not inside(insured):
        return Elsewhere(INSURED, insured, f"参保地 {insured}")
    if rule is JurisdictionRule.insured_and_residence and not (inside(hukou) or inside(residence)):
        return Elsewhere(RESIDENCE, residence, f"户籍地 {hukou} 与居住地 {residence}")
    return None


# 离休 retirees: 000 一 lets a bureau with the conditions take their files; 001 第四条, 002 第三十六条 keep them
# where they are. The bureau's setting (Organisation.accepts_lixiu) decides; refusals name the clauses.
LIXIU_BASIS = (
    "重庆市市属国有重点企业退休人员社会化管理试点工作实施方案 一"
    "（离休人员原则上保持现有管理方式不变，具备条件的可以移交）"
)


def lixiu_refusal() -> str:
    return (
        f"离休人员档案不予接收：本馆未设置接收离休人员（依据 {LIXIU_BASIS}；"
        "红政办规〔2020〕6号 第四条；晋政办通〔2020〕18号 第三十六条）"
    )


def needs_insured_place(rule: JurisdictionRule) -> bool:
    return rule in (JurisdictionRule.insured_place, JurisdictionRule.insured_and_residence)


def bureau_for(bureaus: Iterable[Organisation], code: str) -> Organisation | None:
    """The bureau whose area holds a region code (the narrowest: a district's before its city's), if any.
    A central body's area is everywhere and so decides nothing."""
    holding = [
        b for b in bureaus if b.kind is OrganisationKind.bureau and area_prefix(b) and code.startswith(area_prefix(b))
    ]
    return max(holding, key=lambda b: len(area_prefix(b)), default=None)


def bureau_namer(bureaus: Iterable[Organisation]) -> Callable[[str], str]:
    """Names the bureau a region code belongs to, or says which place's bureau where it is not in this installation."""
    known = list(bureaus)

    def name(code: str) -> str:
        bureau = bureau_for(known, code)
        return bureau.name if bureau else f"区划 {code} 所在地的档案馆"

    return name

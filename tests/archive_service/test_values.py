"""Value types with real examples, valid and invalid."""

from datetime import date

import pytest

from archive_service.values import (
    ValueRuleError,
    check_archival_code,
    check_citizen_id,
    check_citizen_id_agrees,
    check_credit_code,
    check_partial_date,
    check_region_code,
    citizen_id_facts,
    mask_citizen_id,
    upgrade_citizen_id,
)

# The worked examples of GB 11643-1999 itself.
STANDARD_IDS = ["11010519491231002X", "440524188001010014"]


# Their county codes were created after their holders were born (Chongqing 1997, 大连中山区): valid all the same.
ISSUED_UNDER_NEWER_CODES = ["500103195801018266", "210202195406197073"]


@pytest.mark.parametrize("value", STANDARD_IDS + ISSUED_UNDER_NEWER_CODES + ["11010519491231002x"])
def test_citizen_id_valid(value):
    assert check_citizen_id(value) == value.upper()


def test_a_first_generation_id_gets_its_18_digit_form_by_the_same_rule():
    # GB 11643-1999's own examples, written as their 15-digit first generation: 19 in front of the year, the
    # check character after. A short form with no real birth date, or of the wrong length, is refused by name.
    assert upgrade_citizen_id("110105491231002") == "11010519491231002X"
    assert upgrade_citizen_id(" 440524800101001 ") == "440524198001010013"
    with pytest.raises(ValueRuleError) as bad_date:
        upgrade_citizen_id("110105491331002")
    assert bad_date.value.code == "citizen_id.birth_date"
    with pytest.raises(ValueRuleError) as short:
        upgrade_citizen_id("11010549123100")
    assert short.value.code == "citizen_id.first_generation"
    assert mask_citizen_id(None) == "待补录"


def test_citizen_id_facts_are_read_from_the_number():
    facts = citizen_id_facts("11010519491231002X")
    assert facts == type(facts)("110105", date(1949, 12, 31), "F")
    assert citizen_id_facts("440524188001010014").sex == "M"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("110105194912310021", "citizen_id.check_digit"),  # last char should be X
        ("11010519491231002", "citizen_id.format"),  # 17 characters
        ("1101051949123100X2", "citizen_id.format"),  # X not at the end
        ("110105194902300028", "citizen_id.check_digit"),
        ("", "citizen_id.format"),
        ("991030195801010016", "citizen_id.region"),  # no province 99
    ],
)
def test_citizen_id_invalid(value, code):
    with pytest.raises(ValueRuleError) as e:
        check_citizen_id(value)
    assert e.value.code == code
    assert "公民身份号码" in e.value.message


def test_citizen_id_with_impossible_birth_date_is_refused():
    # Feb 30th, with a correct check character computed for it.
    from archive_service.values import citizen_id_check_char

    first17 = "11010519490230002"
    with pytest.raises(ValueRuleError) as e:
        check_citizen_id(first17 + citizen_id_check_char(first17))
    assert e.value.code == "citizen_id.birth_date"


def test_record_must_agree_with_citizen_id():
    check_citizen_id_agrees("11010519491231002X", date(1949, 12, 31), "F")
    with pytest.raises(ValueRuleError) as e:
        check_citizen_id_agrees("11010519491231002X", date(1949, 12, 30), None)
    assert e.value.code == "citizen_id.birth_date_mismatch"
    with pytest.raises(ValueRuleError) as e:
        check_citizen_id_agrees("11010519491231002X", None, "M")
    assert e.value.code == "citizen_id.sex_mismatch" and "女" in e.value.message


def test_mask_keeps_region_and_last_four():
    assert mask_citizen_id("11010519491231002X") == "110105********002X"


# Published codes of real companies (Huawei Technologies, Tencent Computer Systems, a Fuzhou company).
@pytest.mark.parametrize("value", ["914403001922038216", "9144030071526726XG", "91350100M000100Y43"])
def test_credit_code_valid(value):
    assert check_credit_code(value) == value


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("914403001922038217", "credit_code.check_digit"),  # one digit off
        ("9144030071526726XO", "credit_code.format"),  # O is not in the GB 32100 alphabet
        ("91440300192203821", "credit_code.format"),  # 17 characters
        ("91AB03001922038216", "credit_code.region"),
    ],
)
def test_credit_code_invalid(value, code):
    with pytest.raises(ValueRuleError) as e:
        check_credit_code(value)
    assert e.value.code == code


@pytest.mark.parametrize("value", ["110102", "440305", "650102", "820000"])
def test_region_code_valid(value):
    assert check_region_code(value) == value


@pytest.mark.parametrize(
    ("value", "code"),
    [("11010", "region_code.format"), ("990102", "region_code.province"), ("11010A", "region_code.format")],
)
def test_region_code_invalid(value, code):
    with pytest.raises(ValueRuleError) as e:
        check_region_code(value)
    assert e.value.code == code


@pytest.mark.parametrize("value", ["J102-RS-000123", "J001-WS·2019-Y-0001", "0001-12-5"])
def test_archival_code_valid(value):
    assert check_archival_code(value) == value


@pytest.mark.parametrize("value", ["J102", "J102--1", "J102-人事-1", "J102-RS-"])
def test_archival_code_invalid(value):
    with pytest.raises(ValueRuleError) as e:
        check_archival_code(value)
    assert e.value.code == "archival_code.format" and "档号" in e.value.message


@pytest.mark.parametrize("value", ["1962", "196203", "19620315"])
def test_partial_dates(value):
    assert check_partial_date(value) == value


@pytest.mark.parametrize("value", ["196213", "19620230", "62", "1962-03"])
def test_partial_dates_invalid(value):
    with pytest.raises(ValueRuleError):
        check_partial_date(value)


def test_times_are_the_bureaus_at_2330_and_0030_beijing():
    """Stored in UTC, shown and dated in Beijing time: 15:30 UTC is 23:30 the same day at the bureau,
    16:30 UTC already 00:30 the next day (a server on UTC would still say the 30th)."""
    from datetime import UTC, datetime

    from archive_service.db import bureau_today, show_time
    from archive_service.transfers.receipt import _shown

    late, after_midnight = datetime(2026, 11, 30, 15, 30, tzinfo=UTC), datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    assert bureau_today(late) == date(2026, 11, 30) and show_time(late) == "2026-11-30 23:30"
    assert bureau_today(after_midnight) == date(2026, 12, 1) and show_time(after_midnight) == "2026-12-01 00:30"
    assert show_time(datetime(2026, 11, 30, 16, 30)) == "2026-12-01 00:30"  # SQLite gives times without a zone
    assert _shown("2026-11-30T18:19:14Z") == "2026-12-01 02:19"  # the receipt, from the manifest's UTC


def test_the_time_zone_is_a_setting(monkeypatch):
    """Asia/Shanghai by default; another bureau's zone when set; a wrong name fails at start, naming it."""
    from datetime import UTC, datetime

    import pydantic

    from archive_service import config
    from archive_service.db import bureau_today, bureau_zone_label, show_time

    moment = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    monkeypatch.setenv("ARCHIVE_TIME_ZONE", "Asia/Urumqi")  # a zone that is not UTC+8
    config.get_settings.cache_clear()
    try:
        assert show_time(moment) == "2026-11-30 22:30" and bureau_today(moment) == date(2026, 11, 30)
        assert bureau_zone_label() == "Asia/Urumqi"
        monkeypatch.setenv("ARCHIVE_TIME_ZONE", "Mars/Olympus")
        config.get_settings.cache_clear()
        with pytest.raises(pydantic.ValidationError, match="ARCHIVE_TIME_ZONE"):
            config.get_settings()
        monkeypatch.delenv("ARCHIVE_TIME_ZONE")
        config.get_settings.cache_clear()
        assert show_time(moment) == "2026-12-01 00:30" and bureau_zone_label() == "北京时间"
    finally:
        config.get_settings.cache_clear()

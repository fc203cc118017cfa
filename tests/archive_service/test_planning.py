"""The space and staffing rules and the forecast, without a database: figures and the policy they cite."""

import re
from decimal import Decimal

from archive_service.shelving import planning
from archive_service.shelving.planning import ForecastInputs, RoomCapacity, forecast, presets

NATIONAL, XICHENG, DALIAN, JINNING = (presets()[k] for k in ("national", "xicheng", "dalian", "jinning"))


def test_storage_area_follows_the_national_formula_and_its_floor():
    # (holdings + growth × years) × 60 m² / 10,000 volumes; under 2,500 volumes a fixed 15 m².
    assert planning.storage_area(10000, NATIONAL).value == Decimal("60.0")
    assert planning.storage_area(2500, NATIONAL).value == Decimal("15.0")
    assert planning.storage_area(2499, NATIONAL).value == Decimal("15")
    assert planning.storage_area(1, NATIONAL).value == Decimal("15")
    assert planning.storage_area(12345, NATIONAL).value == Decimal("74.1")  # 74.07 rounded up, never down
    assert "第十五条" in planning.storage_area(12345, NATIONAL).basis
    assert "不足 2500 卷" in planning.storage_area(100, NATIONAL).basis


def test_each_jurisdiction_cites_its_own_clause():
    assert planning.storage_area(30000, DALIAN).value == Decimal("45.0")  # 15 m² per 10,000
    assert "大政办发〔2017〕49号 第十八条" in planning.storage_area(30000, DALIAN).basis
    assert planning.archivists_needed(30000, DALIAN).value == 1  # 1 per 30,000
    assert planning.archivists_needed(30001, DALIAN).value == 2
    assert planning.archivists_needed(30000, JINNING).value == 3  # 1 per 10,000
    assert "第十二条" in planning.archivists_needed(30000, JINNING).basis
    assert planning.service_staff_needed(120000, XICHENG).value == 60  # 2,000 retirees each
    assert "六(一)" in planning.service_staff_needed(1, XICHENG).basis
    assert "无全国统一标准" in NATIONAL.staff_basis  # no national staffing rule exists: said, not hidden


def test_jinning_service_staff_by_street_and_community_follow_002_article_11():
    """晋政办通〔2020〕18号 第十一条: the district office and each street add at least 2; a receiving 乡镇（街道）or
    社区 adds 1 per 1,500 retirees begun (500–1,500 → 1); a community under 500 may be served part-time (兼任)."""
    unit = planning.ServiceUnit
    plan = planning.staffing(
        (
            unit("甲街道", "street", 0), unit("乙街道", "street", 4000), unit("丙镇", "township", 300),
            unit("一社区", "community", 499), unit("二社区", "community", 500), unit("三社区", "community", 1500),
            unit("四社区", "community", 1501), unit("五社区", "community", 0),
        ),
        0,
        JINNING,
    )  # fmt: skip
    figures = {r.name: (r.full_time, r.part_time) for r in plan.rows}
    assert figures == {
        "区社会化管理服务办公室": (2, 0),
        "甲街道": (2, 0),  # however few it receives
        "乙街道": (3, 0),  # ⌈4000 / 1500⌉
        "丙镇": (1, 0),
        "一社区": (0, 1),  # 兼任
        "二社区": (1, 0),
        "三社区": (1, 0),
        "四社区": (2, 0),
        "五社区": (0, 0),
    }
    assert (plan.full_time, plan.part_time, plan.by_unit) == (12, 1, True)
    said = {r.name: r.basis for r in plan.rows}
    assert "不少于 2 人" in said["甲街道"] and "兼任" in said["一社区"] and "1500:1" in said["乙街道"]
    assert "第十一条" in plan.basis
    # The old single district figure max(⌈N/1500⌉, 2) is gone: with no units recorded, the office's 2 and the
    # retirees counted as one, said so.
    whole = planning.staffing((), 3000, JINNING)
    assert [(r.kind, r.full_time) for r in whole.rows] == [("office", 2), ("whole", 2)]
    assert not whole.by_unit and "未登记街道、社区" in whole.basis
    # Xicheng counts each street's and community's retirees at 2,000 each (六(一)) and sets no minimum.
    xicheng = planning.staffing((unit("新街口街道", "street", 4001), unit("某社区", "community", 10)), 0, XICHENG)
    assert [(r.name, r.full_time, r.part_time) for r in xicheng.rows] == [("新街口街道", 3, 0), ("某社区", 1, 0)]
    assert "未定" not in JINNING.service_basis  # the preset no longer says the ratio is unset


def test_a_bureaus_own_staffing_figures_are_said_in_its_basis():
    own = planning.custom_policy(
        area_m2_per_10k_volumes=Decimal(60), min_area_m2=Decimal(15), min_area_below_volumes=2500,
        volumes_per_archivist=10000, retirees_per_service_staff=1000, shelving_m_per_m2=Decimal("7.2"),
        planning_years=10, office_staff_minimum=3, street_staff_minimum=1, part_time_below_retirees=200,
    )  # fmt: skip
    plan = planning.staffing((planning.ServiceUnit("某社区", "community", 150),), 0, own)
    assert [(r.full_time, r.part_time) for r in plan.rows] == [(3, 0), (0, 1)]
    assert "区办不少于 3 人" in own.service_basis and "不足 200 人的社区可兼任" in own.service_basis


def test_every_preset_figure_quotes_its_clause():
    for policy in presets().values():
        for basis in (policy.area_basis, policy.staff_basis, policy.service_basis, policy.shelving_basis,
                      policy.years_basis):  # fmt: skip
            # A document and its clause (〔year〕No. / 《title》 / JGJ), or a stated choice where no text sets one.
            assert re.search(r"〔\d{4}〕\d+号 \S|《.+》第|JGJ \d+|取", basis), (policy.preset, basis)


def test_layer_capacity_and_the_shelving_quota():
    assert planning.layer_capacity(800, 20) == 40  # STANDARDS §5.3
    assert planning.layer_capacity(800, 30) == 26
    metres = planning.shelving_metres(10000, 20)
    assert metres == Decimal("200.0")
    # 10,000 volumes at 2 cm need ≥ 28 m² under the JGJ quota: the 60 m² rule is the binding one.
    assert planning.area_by_shelving_quota(metres, NATIONAL).value == Decimal("27.8")


def test_xicheng_plan_figure_is_reproduced_with_stated_assumptions():
    """西人社发〔2020〕14号 六(二): 120,000 retirees + yearly increase + existing stock ⇒ ≥ 1,900 m² at 60 m²/10,000.

    The plan does not give the stock or the increase. At one volume per file, 120,000 files alone need 720 m²;
    1,900 m² stands for 316,667 volumes, so stock + 10 years of increase must be ≥ 196,667 volumes. Our stated
    assumptions (README, "Capacity planning"): the district's existing stock of 100,000 files, 10,000 new
    retirees a year, 10 years planned (企业档案管理规定 第十六条), no supplement growth."""
    assert planning.storage_area(120000, XICHENG).value == Decimal("720.0")
    assert planning.volumes_for_area(Decimal(1900), XICHENG) == 316667
    inputs = ForecastInputs(
        start_year=2021,
        years=10,
        files_held=0,
        volumes_held=0,
        other_stock_volumes=100000,
        incoming_files=120000,
        incoming_volumes=120000,
        projected_files={year: 10000 for year in range(2021, 2031)},
    )
    result = forecast(inputs, XICHENG)
    assert result.final.year == 2030
    assert result.final.volumes == 320000
    assert result.final.area.value == Decimal("1920.0") >= 1900
    assert "六(二)" in result.final.area.basis
    assert result.final.archivists.value == 32
    # The same files under Dalian's 15 m² rule would need a quarter of the area.
    assert forecast(inputs, DALIAN).final.area.value == Decimal("480.0")


def test_forecast_rows_rooms_fill_in_order_and_area_runs_short():
    rooms = (
        RoomCapacity("一号库房", 1000, 900, Decimal(15), False),
        RoomCapacity("二号库房", 2000, 0, Decimal(30), False),
    )
    inputs = ForecastInputs(
        start_year=2027,
        years=5,
        files_held=900,
        volumes_held=900,
        incoming_files=50,
        incoming_volumes=60,
        projected_files={2027: 100, 2028: 400, 2029: 400, 2030: 400, 2031: 400},
        supplement_growth_pct=Decimal(1),
        thickness_mm=30,
        rooms=rooms,
    )
    result = forecast(inputs, NATIONAL)
    first = result.rows[0]
    # 900 grown 1 % = 909, + 100 projected + 60 from the open batch
    assert (first.year, first.intake_files, first.files, first.volumes) == (2027, 150, 1050, 1069)
    assert [r.files for r in result.rows] == [1050, 1450, 1850, 2250, 2650]
    assert all(b.volumes > a.volumes for a, b in zip(result.rows, result.rows[1:], strict=False))
    assert result.room_full_year == {"一号库房": 2027, "二号库房": None}
    assert result.capacity_volumes == 3000 and result.final.free_volumes == 3000 - result.final.volumes
    assert result.final.shelving_m == planning.shelving_metres(result.final.volumes, 30)
    assert result.area_short_year is None  # 45 m² of store rooms cover every year
    # With the first room alone (15 m²): the 15 m² floor holds until the holdings pass 2,500 volumes.
    small = forecast(ForecastInputs(**{**inputs.__dict__, "rooms": rooms[:1]}), NATIONAL)
    assert [r.area.value for r in small.rows][:4] == [Decimal(15)] * 4
    assert small.final.volumes > 2500 and small.final.area.value > 15
    assert small.area_short_year == 2031

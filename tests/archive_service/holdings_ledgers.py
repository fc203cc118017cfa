"""A district's old ledger as it really looks, made fresh by each test: a title and a date above the header,
merged cells, a sheet per store room (the second with a two-row header under a merged 存放位置), IDs of
both generations, dates written four ways, a misspelt enterprise, a person listed twice, a birth date the ID
contradicts, a file without an ID, one without a place — and a third room's list kept as a GBK CSV.

The retirees are invented here (serials 700+), so no demo file is among them."""

import csv
import io
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from archive_service.demo import XICHENG, citizen_id


def fifteen(full: str) -> str:
    """The first-generation form of an 18-digit ID: no century, no check character."""
    return full[:6] + full[8:17]


@dataclass(frozen=True)
class Person:
    name: str
    sex: str
    born: date
    serial: int

    @property
    def citizen_id(self) -> str:
        return citizen_id(XICHENG, self.born, self.serial, "M" if self.sex == "男" else "F")


PEOPLE = {
    "plain": Person("贾宝玉", "男", date(1951, 3, 14), 701),
    "fifteen": Person("林黛玉", "女", date(1953, 6, 2), 702),
    "misspelt": Person("薛宝钗", "女", date(1952, 11, 20), 703),
    "twice_a": Person("王熙凤", "女", date(1950, 8, 8), 704),
    "twice_b": Person("贾琏", "男", date(1949, 2, 1), 705),
    "mismatch": Person("史湘云", "女", date(1955, 7, 19), 706),
    "no_id": Person("刘姥姥", "女", date(1940, 6, 1), 707),
    "unshelved": Person("贾政", "男", date(1946, 4, 9), 708),
    "room2_a": Person("袭人", "女", date(1957, 6, 15), 709),
    "room2_b": Person("晴雯", "女", date(1958, 1, 9), 710),
    "csv_a": Person("贾母", "女", date(1936, 12, 1), 711),
    "csv_b": Person("贾赦", "男", date(1944, 5, 5), 712),
}


def messy_workbook() -> bytes:
    """Two room sheets: 一号库房 (A02 exists in the demo's store) and 二号库房 (a room without shelving yet)."""
    p = PEOPLE
    book = Workbook()
    one = book.active
    one.title = "一号库房"
    one.append(["北京市西城区退休人员人事档案台账（一号库房）"])
    one.merge_cells("A1:N1")
    one["A1"].font = Font(bold=True, size=14)
    one["A1"].alignment = Alignment(horizontal="center")
    one.append(["制表：王某某", None, None, None, None, None, None, None, None, None, "2019年6月"])
    one.append(["序号", "原档号", "姓名", "性别", "出生年月", "身份证号码", "原工作单位", "卷数", "页数", "入馆时间",
                "排", "列", "层", "格", "备注"])  # fmt: skip
    one.append([1, "XC-1998-0101", p["plain"].name, "男", "1951.3", p["plain"].citizen_id, "北京第一机床厂", 1, 86,
                "1998年3月", "A02", 4, 6, 3, ""])  # fmt: skip
    one.append([2, "XC-1998-0102", p["fifteen"].name, "女", "53年6月", fifteen(p["fifteen"].citizen_id),
                "北京市百货大楼", 1, 40, "1998.3.12", "A02", 4, 6, 3, "一代证"])  # fmt: skip
    one.append([3, "XC-1998-0103", p["misspelt"].name, "女", "一九五二年十一月", p["misspelt"].citizen_id,
                "北京第一机床场", 2, 120, "1999-01-05", "A02", 4, 6, 3, ""])  # fmt: skip
    one.append([4, "XC-1998-0104", p["twice_a"].name, "女", "1950.8", p["twice_a"].citizen_id, "北京燕山纺织厂", 1,
                60, "1999.2", "A02", 4, 5, 3, ""])  # fmt: skip
    one.append([5, "XC-1998-0105", p["mismatch"].name, "女", "1956.7", p["mismatch"].citizen_id, "北京燕山纺织厂", 1,
                55, "2001.5", "A02", 4, 5, 3, "出生年月待核"])  # fmt: skip
    # 贾琏's row carries 王熙凤's ID by mistake: the ledger lists one person twice.
    one.append([6, "XC-1998-0106", p["twice_b"].name, "男", "1949.2", p["twice_a"].citizen_id, "北京燕山纺织厂", 1,
                50, "2001.5", "A02", 4, 5, 3, ""])  # fmt: skip
    one.append([7, "XC-1998-0107", p["no_id"].name, "女", "1940.6", "", "北京市百货大楼", 1, 30, "", "A02", 4, 5, 3,
                "身份证号不详"])  # fmt: skip
    one.append([8, "XC-1998-0108", p["unshelved"].name, "男", "1946年4月", p["unshelved"].citizen_id,
                "北京第一机床厂", 1, 70, "2003.10", "", "", "", "", "待上架"])  # fmt: skip
    one.append(["合计：8 人"])
    two = book.create_sheet("二号库房")
    two.append(["二号库房档案台账"])
    two.merge_cells("A1:J1")
    two.append(["序号", "原档号", "姓名", "性别", "出生日期", "公民身份号码", "所属企业", "存放位置", None, None, None])
    two.append([None, None, None, None, None, None, None, "排", "列", "层", "格"])
    for column in "ABCDEFG":
        two.merge_cells(f"{column}2:{column}3")
    two.merge_cells("H2:K2")
    two.append([1, "XC-2005-0001", p["room2_a"].name, "女", "1957-06-15", p["room2_a"].citizen_id,
                "北京市第三建筑工程公司", 1, 2, 1, 1])  # fmt: skip
    two.append([2, "XC-2005-0002", p["room2_b"].name, "女", "1958-01-09", p["room2_b"].citizen_id,
                "北京市第三建筑工程公司", 1, 2, 1, 2])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def gbk_csv() -> bytes:
    """A third room's list, saved by Excel on Chinese Windows: GBK, one location text per row."""
    p = PEOPLE
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["三号库房存量档案清单"])
    writer.writerow(["姓名", "性别", "出生日期", "身份证号", "所属企业", "档号", "存放位置", "入馆日期"])
    writer.writerow([p["csv_a"].name, "女", "1936.12", p["csv_a"].citizen_id, "北京红星电子仪器厂", "XC-2010-0001",
                     "三号库房 1排1列2层1格", "2010年5月"])  # fmt: skip
    writer.writerow([p["csv_b"].name, "男", "1944.5.5", p["csv_b"].citizen_id, "北京红星电子仪器厂", "XC-2010-0002",
                     "三号库房 1排1列2层1格", "2010年5月"])  # fmt: skip
    return out.getvalue().encode("gbk")

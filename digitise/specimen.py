"""Specimen pages: personnel-file-like scans with known text, for tests, benchmarks and the demo.

A real scan cannot be committed (it would be someone's personal file), so we draw pages that
look like the forms in a retired employee's file — a form title, filled-in fields, running text,
a red seal over the text, a photo, scanner noise, a dark scanner lid around the sheet, a little
skew, now and then a sheet fed upside down or a blank back — and remember what was printed.
"""

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from digitise import citizen_id

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",  # 宋体-like, as forms are printed
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
# Typefaces a file's pages are filled in with, for the harder benchmark pages: 宋体, 黑体, 楷体 (the
# hand-written look of forms filled in by a clerk's pen or a typewriter of the 1980s), 明体.
TYPEFACES = {
    "song": "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "hei": "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "kai": "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "ming": "/usr/share/fonts/truetype/arphic/uming.ttc",
}

A4_MM = (210, 297)

FORM_TITLES = ("职工登记表", "退休审批表", "工资审批表", "职工转正定级审批表", "劳动合同书", "奖励审批表")
# The class each form belongs to in the 1992 enterprise scheme: the truth a catalogue proposal is
# measured against (kept here, apart from digitise/material_titles.toml, which the proposal reads).
FORM_CLASSES = {"职工登记表": "1", "退休审批表": "9", "工资审批表": "9", "职工转正定级审批表": "9", "劳动合同书": "9",
                "奖励审批表": "7", "自传": "2", "招工登记表": "9", "入党志愿书": "6", "干部履历表": "1"}  # fmt: skip

SENTENCES = (
    "该同志参加工作以来，工作积极，服从分配，团结同志。",
    "经研究决定，同意该同志按月领取基本养老金。",
    "参加工作时间以劳动部门审批的招工表为准。",
    "连续工龄自入厂之日起计算，中间未有间断。",
    "本人工资由二级工调整为三级工，自当月起执行。",
    "该同志在车间担任班组长期间，多次被评为先进生产者。",
    "根据国家有关规定，办理正常退休手续。",
    "以上情况属实，特此证明。",
    "工作调动介绍信及工资转移证明附后。",
    "经审核，该同志出生日期与户籍登记一致。",
    "厂劳资科意见：同意转正，定为技术员。",
    "本表一式三份，存入本人档案一份。",
)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华建国志红平"


@dataclass(frozen=True)
class SpecimenPerson:
    name: str
    citizen_id: str
    birth_date: date
    sex: str

    @property
    def work_start(self) -> date:
        """参加工作时间, as a form records it: at 18, in the month after the birthday's (no draw of its own)."""
        return date(self.birth_date.year + 18 + self.birth_date.month // 12, self.birth_date.month % 12 + 1, 1)


@dataclass
class SpecimenPage:
    image: Image.Image
    text: str  # what is printed, in reading order, without whitespace
    dpi: int
    blank: bool
    rotated_180: bool
    skew_degrees: float
    has_seal: bool
    title: str | None = None  # the form's printed name (None on a blank back)
    class_code: str | None = None  # its class, "1" … "10"


def font_path() -> str:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    raise FileNotFoundError("no CJK font found; install fonts-noto-cjk (make bootstrap does)")


def citizen_id_for(region: str, born: date, serial: int, sex: str) -> str:
    """A well-formed 18-character ID (GB 11643: region, birth date, serial with sex parity, MOD 11-2)."""
    seq = serial * 2 + (1 if sex == "M" else 0)
    body = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    return body + citizen_id.check_char(body)


def person(rng: random.Random) -> SpecimenPerson:
    born = date(rng.randint(1945, 1965), rng.randint(1, 12), rng.randint(1, 28))
    sex = rng.choice("MF")
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return SpecimenPerson(name, citizen_id_for("110102", born, rng.randint(0, 499), sex), born, sex)


def draw_page(
    rng: random.Random,
    who: SpecimenPerson,
    *,
    dpi: int = 300,
    skew: float = 0.0,
    upside_down: bool = False,
    seal: bool = True,
    photo: bool = False,
    noise: float = 6.0,
    blank: bool = False,
    lines: int = 14,
    title: str | None = None,
    typeface: str | None = None,
    grid: bool = False,
    faint: bool = False,
) -> SpecimenPage:
    """Draw one sheet as a flatbed scanner would deliver it (RGB, dark lid around the paper).

    The harder pages of the benchmark: `typeface` (TYPEFACES) fills the form in another hand, with the
    参加工作时间 field; `grid` rules the fields as a form's table; `faint` prints it as a pale carbon copy."""
    px = lambda mm: round(mm / 25.4 * dpi)  # noqa: E731
    width, height = px(A4_MM[0]), px(A4_MM[1])
    paper = Image.new("RGB", (width, height), (246, 244, 238))
    draw = ImageDraw.Draw(paper)
    printed: list[str] = []
    title = None if blank else title
    # Fields a shade darker than running text, as typed forms are; carbon copies blue-grey and pale.
    field_ink, text_ink = ((120, 125, 160),) * 2 if faint else ((25, 25, 25), (30, 30, 30))
    if not blank:
        title_font = ImageFont.truetype(font_path(), px(7.5))
        body_font = ImageFont.truetype(TYPEFACES[typeface] if typeface else font_path(), px(4.2))
        title = title or rng.choice(FORM_TITLES)
        tw = draw.textlength(title, font=title_font)
        draw.text(((width - tw) / 2, px(22)), title, font=title_font, fill=(20, 20, 20))
        printed.append(title)
        sex_label = "男" if who.sex == "M" else "女"
        fields = [
            f"姓名：{who.name}　性别：{sex_label}",
            f"出生日期：{who.birth_date.year}年{who.birth_date.month}月{who.birth_date.day}日",
            f"公民身份号码：{who.citizen_id}",
        ]
        if typeface or grid or faint:
            fields.append(f"参加工作时间：{who.work_start.year}年{who.work_start.month}月")
        y = px(45)
        for field in fields:
            printed.append(field.replace("　", ""))
            if grid:  # the form's ruled cells: the label in one, the value in the next
                label, value = field.split("：", 1)
                after_label = px(25) + draw.textlength(label + "：", font=body_font)
                draw.text((px(25), y), label + "：", font=body_font, fill=field_ink)
                draw.text((after_label + px(3), y), value, font=body_font, fill=field_ink)
                draw.rectangle((px(22), y - px(2.2), width - px(22), y + px(6.8)), outline=(40, 40, 40), width=3)
                draw.line(
                    (after_label + px(1.2), y - px(2.2), after_label + px(1.2), y + px(6.8)), fill=(40, 40, 40), width=3
                )
            else:
                draw.text((px(25), y), field, font=body_font, fill=field_ink)
            y += px(9)
        y += px(4)
        for _ in range(lines):
            sentence = rng.choice(SENTENCES)
            draw.text((px(25), y), sentence, font=body_font, fill=text_ink)
            printed.append(sentence)
            y += px(9)
            if y > height - px(40):
                break
        if photo:
            box = (width - px(55), px(40), width - px(25), px(80))
            shade = Image.linear_gradient("L").resize((box[2] - box[0], box[3] - box[1]))
            tinted = Image.merge(
                "RGB",
                (
                    shade.point(lambda v: 90 + v // 2),
                    shade.point(lambda v: 70 + v // 3),
                    shade.point(lambda v: 60 + v // 4),
                ),
            )
            paper.paste(tinted, box[:2])
        if seal:
            _draw_seal(paper, (width - px(70), y - px(40)), px(21), dpi)
    if faint:
        paper = paper.filter(ImageFilter.GaussianBlur(1.2))  # carbon spreads
    image = _on_scanner_bed(paper, dpi, skew, rng)
    if upside_down:
        image = image.rotate(180)
    if noise:
        image = _add_noise(image, noise, rng)
    text = "".join(printed)
    shown = None if blank else title
    return SpecimenPage(
        image, text, dpi, blank, upside_down, skew, seal and not blank, shown, FORM_CLASSES.get(shown or "")
    )


def _draw_seal(paper: Image.Image, centre: tuple[int, int], radius: int, dpi: int) -> None:
    """A red official seal stamped over the text (translucent, as ink is)."""
    layer = Image.new("RGBA", paper.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    cx, cy = centre
    red = (205, 30, 35, 170)
    d.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=red, width=max(3, dpi // 60))
    star = ImageFont.truetype(font_path(), radius)
    d.text((cx, cy), "★", font=star, fill=red, anchor="mm")
    small = ImageFont.truetype(font_path(), radius // 4)
    d.text((cx, cy + radius * 0.62), "劳动工资科", font=small, fill=red, anchor="mm")
    paper.paste(layer, (0, 0), layer)


def _on_scanner_bed(paper: Image.Image, dpi: int, skew: float, rng: random.Random) -> Image.Image:
    margin = round(8 / 25.4 * dpi)
    bed = Image.new("RGB", (paper.width + 2 * margin, paper.height + 2 * margin), (58, 58, 62))
    rotated = paper.rotate(skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(58, 58, 62))
    x = (bed.width - rotated.width) // 2 + rng.randint(-margin // 4, margin // 4)
    y = (bed.height - rotated.height) // 2 + rng.randint(-margin // 4, margin // 4)
    bed.paste(rotated, (x, y))
    return bed


def _add_noise(image: Image.Image, amount: float, rng: random.Random, noise: Image.Image | None = None) -> Image.Image:
    """Scanner noise; `noise` (grey, the image's size) in place of PIL's, which draws from the C library's
    unseeded generator (the handwritten pages give their own, drawn from their seed)."""
    noise = (noise or Image.effect_noise(image.size, amount)).convert("RGB")
    out = Image.blend(image, noise, 0.06)
    # Scanner speckle: a few dark dots.
    d = ImageDraw.Draw(out)
    for _ in range(int(image.width * image.height / 40000)):
        x, y = rng.randrange(image.width), rng.randrange(image.height)
        d.point((x, y), fill=(40, 40, 40))
    return out.filter(ImageFilter.SMOOTH) if amount > 10 else out


def save_scan(page: SpecimenPage, path: Path) -> Path:
    """Save as a scanner would: LZW TIFF (or by suffix) with the resolution recorded."""
    kwargs: dict[str, Any] = {"dpi": (page.dpi, page.dpi)}
    if path.suffix.lower() in (".tif", ".tiff"):
        kwargs["compression"] = "tiff_lzw"
    elif path.suffix.lower() in (".jpg", ".jpeg"):
        kwargs["quality"] = 92
    page.image.save(path, **kwargs)
    return path

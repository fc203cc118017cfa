"""Handwritten forms made another way: HTML forms laid out by Chromium, filled in with two handwriting
fonts the pipeline was never tuned on (OFL: Ma Shan Zheng, Zhi Mang Xing, from npm's @fontsource),
aged by a different recipe — the check that our own generator (digitise/specimen_hand.py) is not what
the figures measure.

Nothing here shares code with digitise/specimen_hand.py: layouts are HTML tables (labels above their
values in one form, beside them in another, a title in a box, a title under a red letterhead …),
sizes come from CSS, the page is a Chromium screenshot at 300 dpi without a scanner lid, aged by a
multiplicative tint and grain, turned by a small angle.
"""

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image

from digitise.specimen import SpecimenPerson
from digitise.specimen_hand import id15, written_date

FONTS = Path(__file__).resolve().parent / "handwriting" / "node_modules" / "@fontsource"
HANDS = {"ma-shan-zheng": "Ma Shan Zheng", "zhi-mang-xing": "Zhi Mang Xing"}
FORMS = {"招工登记表": "9", "干部履历表": "1", "职工退休审批表": "9", "入党志愿书": "6", "职工登记表": "1"}
INKS = ("#1d2a5c", "#3a2a1e", "#20305a", "#5a3b22")


@dataclass
class OtherPage:
    image: Image.Image
    text: str
    title: str
    class_code: str
    birth_written: str
    id_written: str
    work_start_iso: str
    name: str
    blank: bool = False


def _html(title: str, rows: list[tuple[str, str]], rng: random.Random, hand: str) -> tuple[str, str]:
    """The form as HTML, and its text in reading order."""
    ink = rng.choice(INKS)
    hand_size = rng.uniform(13, 30)  # CSS px at 96/in: 3.4–8 mm
    title_size = rng.uniform(18, 40)
    layout = rng.choice(("beside", "above", "boxed"))
    letterhead = rng.random() < 0.4
    css = f"""
      @import url('file://{FONTS}/{hand}/400.css');
      body {{ margin: 0; width: 794px; height: 1123px; background: white; font-family: 'Noto Serif CJK SC'; }}
      .sheet {{ padding: {rng.randint(40, 120)}px {rng.randint(50, 80)}px; }}
      h1 {{ font-size: {title_size:.0f}px; font-weight: {rng.choice((400, 700))}; margin: 0 0 {rng.randint(10, 40)}px;
           text-align: {rng.choice(("center", "left", "right"))}; {"border: 2px solid black; padding: 6px;" if layout == "boxed" else ""} }}
      .head {{ color: #c0262b; font-size: 22px; text-align: center; border-bottom: 3px double #c0262b; margin-bottom: 18px; }}
      table {{ border-collapse: collapse; width: 100%; }}
      td {{ border: 1.5px solid #222; padding: 6px 8px; font-size: {rng.uniform(12, 16):.0f}px; vertical-align: top; }}
      .v {{ font-family: '{HANDS[hand]}'; color: {ink}; font-size: {hand_size:.0f}px; }}
    """  # noqa: E501
    cells, said = [], []
    per_row = 1 if layout == "above" else rng.choice((1, 2))
    for i in range(0, len(rows), per_row):
        part = rows[i : i + per_row]
        if layout == "above":
            cells.append("<tr>" + "".join(f"<td>{label}</td>" for label, _ in part) + "</tr>")
            cells.append("<tr>" + "".join(f"<td class=v>{value}</td>" for _, value in part) + "</tr>")
            said += [label for label, _ in part] + [value for _, value in part]
        else:
            said += [label + value for label, value in part]
            cells.append(
                "<tr>" + "".join(f"<td>{label}</td><td class=v>{value}</td>" for label, value in part) + "</tr>"
            )
    head = "<div class=head>国营红星机械厂</div>" if letterhead else ""
    text = ("国营红星机械厂" if letterhead else "") + title + "".join(said)
    return text, f"<html><head><meta charset=utf-8><style>{css}</style></head><body>" \
        f"<div class=sheet>{head}<h1>{title}</h1>" \
        f"<table>{''.join(cells)}</table></div></body></html>"  # fmt: skip


def _age(image: Image.Image, rng: random.Random) -> Image.Image:
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
    tint = np.array([1.0, rng.uniform(0.9, 0.98), rng.uniform(0.72, 0.92)])
    grain = np.random.default_rng(rng.randrange(1 << 30)).normal(1.0, 0.04, pixels.shape[:2])[:, :, None]
    ink_fade = rng.uniform(0.0, 0.35)
    aged = (pixels + (1 - pixels) * ink_fade) * tint * grain
    out = Image.fromarray((aged.clip(0, 1) * 255).astype(np.uint8))
    return out.rotate(
        rng.uniform(-1.5, 1.5), resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(240, 232, 210)
    )


def make_other_pages(
    rng: random.Random, who: SpecimenPerson, n: int, folder: Path
) -> tuple[list[Path], list[OtherPage]]:
    from playwright.sync_api import sync_playwright

    files, pages = [], []
    with sync_playwright() as p:
        # The fonts are files beside the form: a file page may read them only with this switch.
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--allow-file-access-from-files"])
        view = browser.new_page(viewport={"width": 794, "height": 1123}, device_scale_factor=300 / 96)
        for i in range(n):
            title = rng.choice(list(FORMS))
            hand = rng.choice(list(HANDS))
            birth = written_date(who.birth_date, rng.randrange(3))
            work = date(who.work_start.year, who.work_start.month, 1)
            work_text = written_date(work, rng.randrange(3), day=False)
            ident = id15(who) if rng.random() < 0.4 else who.citizen_id
            sex = "男" if who.sex == "M" else "女"
            rows = [("姓名", who.name), ("性别", sex), ("出生年月", birth), ("参加工作时间", work_text),
                    ("公民身份号码", ident), ("文化程度", rng.choice(("初中", "高中")))]  # fmt: skip
            rng.shuffle(rows)
            text, html = _html(title, rows, rng, hand)
            form = folder / f"other-{i + 1:03d}.html"
            form.write_text(html, encoding="utf-8")
            view.goto(form.as_uri())
            view.evaluate("document.fonts.ready")
            view.wait_for_timeout(200)
            shot = folder / f"other-{i + 1:03d}.png"
            view.screenshot(path=str(shot), full_page=False)
            image = _age(Image.open(shot), rng)
            image.save(shot, dpi=(300, 300))
            files.append(shot)
            pages.append(OtherPage(image, text, title, FORMS[title], birth, ident, f"{work:%Y-%m}", who.name))
        browser.close()
    return files, pages

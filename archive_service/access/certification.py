"""The certified copy's paper (复制件, 签注意见并加盖印章): the certification pages drawn from their text, and the
bureau's seal and page number on every copied page. What the text says is access.delivery's."""

import io

from PIL import Image, ImageDraw, ImageFont

from archive_service.access import watermark

MARGIN, LINE, SEAL_ROOM = 120, 48, 300  # pixels at 150 dpi: the text inside 20 mm margins; room for the seal


def _wrapped(d: ImageDraw.ImageDraw, line: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """One line of the certificate broken, character by character, where it would pass the right margin;
    a continued line is indented one full-width space under its start."""
    out, current = [], ""
    for char in line:
        if current.strip() and d.textlength(current + char, font=font) > width:
            out.append(current)
            current = "　"
        current += char
    return [*out, current]


def pages(body: list[str], bureau: str) -> list[bytes]:
    """The certification, on as many pages as its text needs (a long annotation or list of materials goes on
    to a next page, never past the margins); the seal under its last line."""
    width, height = watermark.VIEW_WIDTH, round(watermark.VIEW_WIDTH * 297 / 210)
    font = watermark.font(28)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines = [part for line in body for part in _wrapped(measure, line, font, width - 2 * MARGIN)]
    per_page = (height - MARGIN - 260) // LINE
    sheets = [lines[n : n + per_page] for n in range(0, len(lines), per_page)]
    if 260 + len(sheets[-1]) * LINE + SEAL_ROOM > height - MARGIN // 2:  # the seal goes with the signature
        sheets[-1], tail = sheets[-1][:-2], sheets[-1][-2:]
        sheets.append(tail)
    out = []
    for n, sheet in enumerate(sheets):
        page = Image.new("RGB", (width, height), "white")
        d = ImageDraw.Draw(page)
        title = "档案复制件证明" + (f"（续 {n}）" if n else "")
        d.text((width // 2, 140), title, font=watermark.font(56), fill="black", anchor="mm")
        y = 260
        for line in sheet:
            d.text((MARGIN, y), line, font=font, fill="black")
            y += LINE
        if n == len(sheets) - 1:
            cx, cy, r = width - 300, y + 80, 130  # the bureau's seal
            seal(page, cx, cy, r, bureau)
            d.text((cx, cy + r + 40), "（档案馆印章）", font=watermark.font(22), fill=(120, 120, 120), anchor="mm")
        buf = io.BytesIO()
        page.save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return out


SEAL_RED = (200, 20, 20)


def seal(page: Image.Image, cx: int, cy: int, r: int, name: str, opacity: int = 255) -> None:
    """The bureau's round seal: a ring, a star and the bureau's whole name inside it, in seal red; drawn
    translucent over a page's text (`opacity` < 255) as a stamp's ink lets the text show through."""
    layer = Image.new("RGBA", page.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    ink = (*SEAL_RED, opacity)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=ink, width=max(3, r // 16))
    d.text((cx, cy), "★", font=watermark.font(round(r * 0.7)), fill=ink, anchor="mm")
    size = max(12, round(r * 0.19))
    while size > 8 and d.textlength(name, font=watermark.font(size)) > 1.45 * r:  # the whole name, inside the ring
        size -= 1
    d.text((cx, cy + round(r * 0.48)), name, font=watermark.font(size), fill=ink, anchor="mm")
    page.paste(layer, (0, 0), layer)


def sealed_and_numbered(images: list[bytes], bureau: str) -> list[bytes]:
    """Every copied page with the bureau's seal (over its lower right, as a stamp is put on each sheet) and
    its number, 第 n 页 / 共 N 页, in the bottom bar: a page taken out of the copy still says whose copy it is
    and that it is one of N."""
    out = []
    for n, data in enumerate(images, start=1):
        page = Image.open(io.BytesIO(data)).convert("RGB")
        r = round(page.width * 0.075)
        seal(page, page.width - r - 60, page.height - r - 70, r, bureau, opacity=190)
        d = ImageDraw.Draw(page)
        d.text(
            (page.width - 14, page.height - 30),
            f"复制件 第 {n} 页 / 共 {len(images)} 页",
            font=watermark.font(20),
            fill=SEAL_RED,
            anchor="ra",
        )
        buf = io.BytesIO()
        page.save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return out

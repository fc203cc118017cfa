"""Delivered pages: a page image from the use copy with a visible watermark drawn into its pixels.

The watermark (who, which organisation, which request, when) is part of the image, not an
annotation a viewer could hide. Rendering is cached at two levels so a busy counter stays fast:
the page image decoded once per (object, page), the watermarked page once per (request, page,
minute) — the watermark shows the minute, the access log the exact time of every view.
"""

import io
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import pikepdf
from PIL import Image, ImageDraw, ImageFont

from digitise.sources import page_images

ANGLE = 30  # degrees: the watermark's diagonal
LINE_GAP = 150  # pixels between its parallel lines
VIEW_WIDTH = 1240  # pixels: A4 at 150 dpi, plenty for reading on screen, a quarter of the master
FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)


class _Lru:
    def __init__(self, size: int) -> None:
        self.size, self.lock = size, threading.Lock()
        self.items: OrderedDict[object, object] = OrderedDict()

    def get(self, key, make: Callable[[], object]):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_pages = _Lru(256)
_delivered = _Lru(1024)


@lru_cache(maxsize=32)  # the sizes pages and the seal use (the seal fits the bureau's name by size)
def font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    raise FileNotFoundError("no CJK font: install fonts-noto-cjk")


def page_image(pdf_bytes: Callable[[], bytes], object_key: str, page: int) -> Image.Image:
    """Page `page` (1-based) of a use copy as an RGB image VIEW_WIDTH wide."""

    def render() -> Image.Image:
        with pikepdf.open(io.BytesIO(pdf_bytes())) as pdf:
            image = next(page_images(pdf.pages[page - 1])).as_pil_image()
        if getattr(image, "format", None) == "JPEG":
            image.draft(image.mode, (VIEW_WIDTH, VIEW_WIDTH * 2))  # decode at reduced size: much faster
        image = image.convert("RGB")
        height = round(image.height * VIEW_WIDTH / image.width)
        return image.resize((VIEW_WIDTH, height), Image.Resampling.BILINEAR)

    return _pages.get((object_key, page), render)


def watermark(image: Image.Image, lines: list[str]) -> Image.Image:
    """Tile the text diagonally across the page, translucent, so no part of the page is free of it."""
    out = image.copy()
    text = "  ".join(lines)
    face = font(22)
    stamp_width = int(ImageDraw.Draw(out).textlength(text, font=face)) + 80
    tile = Image.new("RGBA", (stamp_width, 60), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((10, 15), text, font=face, fill=(200, 30, 30, 80))
    tile = tile.rotate(ANGLE, expand=True)
    # Stamps follow one another along parallel diagonals LINE_GAP apart, so the lines never cross: a row
    # grid let a long stamp (a print's extra 打印件) run through the next row's and garble both.
    along = (stamp_width * math.cos(math.radians(ANGLE)), -stamp_width * math.sin(math.radians(ANGLE)))
    across = (LINE_GAP * math.sin(math.radians(ANGLE)), LINE_GAP * math.cos(math.radians(ANGLE)))
    reach = int((out.width + out.height) / min(stamp_width, LINE_GAP)) + 2
    for i in range(-reach, reach):
        for j in range(-reach, reach):
            step = i + (j % 2) / 2  # every other line half a stamp on: the gaps between stamps do not line up
            cx = step * along[0] + j * across[0]
            cy = out.height / 2 + step * along[1] + j * across[1]
            x, y = round(cx - tile.width / 2), round(cy - tile.height / 2)
            if -tile.width < x < out.width and -tile.height < y < out.height:
                out.paste(tile, (x, y), tile)
    bar = ImageDraw.Draw(out)
    bar.rectangle((0, out.height - 34, out.width, out.height), fill=(255, 255, 255))
    bar.text((12, out.height - 30), text, font=font(20), fill=(160, 20, 20))
    return out


def delivered_page(
    pdf_bytes: Callable[[], bytes], object_key: str, page: int, request_id: int, minute: str, lines: list[str]
) -> bytes:
    def render() -> bytes:
        marked = watermark(page_image(pdf_bytes, object_key, page), lines)
        buf = io.BytesIO()
        marked.save(buf, "JPEG", quality=80)
        return buf.getvalue()

    return _delivered.get((request_id, object_key, page, minute, tuple(lines)), render)

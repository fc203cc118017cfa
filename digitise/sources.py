"""The scanner's files: which pages they hold, and each page's image.

Accepts TIFF (single or multi-page; LZW, G4, uncompressed), PNG, JPEG, and PDFs of scanned
pages. A file that cannot be read — empty, truncated, encrypted, or an image so large it would
exhaust memory (a decompression bomb) — gives a `SourceError` naming the file and the reason;
the run reports it and goes on with the other files.
"""

import hashlib
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pikepdf
from pikepdf import PdfImage
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".tif", ".tiff", ".png", ".jpg", ".jpeg"}
FALLBACK_DPI = 0  # unknown; QC reports it


class SourceError(Exception):
    def __init__(self, path: Path, code: str, message: str) -> None:
        super().__init__(f"{path.name}: {message}")
        self.path, self.code, self.message = path, code, message


@dataclass(frozen=True)
class SourcePage:
    path: Path
    frame: int  # page within a multi-page file, 0-based
    file_sha256: str
    media_type: str


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def media_type_of(path: Path) -> str:
    return {
        ".tif": "image/tiff",
        ".tiff": "image/tiff",
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".pdf": "application/pdf",
    }.get(path.suffix.lower(), "application/octet-stream")


def pages_of(path: Path, max_pixels: int) -> list[SourcePage]:
    """The pages in one input file, checked enough to know how many there are."""
    if not path.is_file():
        raise SourceError(path, "input.missing", "文件不存在")
    if path.stat().st_size == 0:
        raise SourceError(path, "input.empty", "文件为空（0 字节）")
    digest = sha256_of_file(path)
    media_type = media_type_of(path)
    if media_type == "application/pdf":
        with _open_pdf(path) as pdf:
            count = len(pdf.pages)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        with _open_image(path, max_pixels) as image:
            count = getattr(image, "n_frames", 1)
    else:
        raise SourceError(
            path, "input.format", f"不支持的文件格式 {path.suffix or '（无扩展名）'}：应为 TIFF、PNG、JPEG 或 PDF"
        )
    if count == 0:
        raise SourceError(path, "input.no_pages", "文件中没有页面")
    return [SourcePage(path, i, digest, media_type) for i in range(count)]


def frame_resolutions(path: Path, max_pixels: int, decode_until: float = math.inf) -> Iterator[tuple[int, float]]:
    """Each frame of an image file, in order, from one opening: (frame, dpi). Seeking frame by frame forward is
    linear; reopening the file for each frame (as `load` does) made the upload check of a 5,000-frame TIFF
    quadratic — over 20 minutes of a request thread. Frames are decoded whole until the monotonic clock passes
    `decode_until`; after that only their headers are read (3,000 frames of 69 Mpx decode in about 8 minutes,
    their headers in a second), and the pipeline decodes every frame anyway, naming one that is damaged."""
    with _open_image(path, max_pixels) as image:
        for frame in range(getattr(image, "n_frames", 1)):
            try:
                image.seek(frame)
                if time.monotonic() < decode_until:
                    image.load()
            except (OSError, EOFError, ValueError) as exc:
                raise SourceError(path, "input.corrupt", f"第 {frame + 1} 帧无法解码（文件损坏或不完整）") from exc
            yield frame, float(image.info.get("dpi", (FALLBACK_DPI, FALLBACK_DPI))[0] or 0)


def load(page: SourcePage, max_pixels: int) -> tuple[Image.Image, float]:
    """The page's image, fully decoded, and its resolution in dpi (0 when the file does not say)."""
    if page.media_type == "application/pdf":
        return _pdf_page_image(page, max_pixels)
    with _open_image(page.path, max_pixels) as image:
        try:
            image.seek(page.frame)
            image.load()
        except (OSError, EOFError, ValueError) as exc:
            raise SourceError(
                page.path, "input.corrupt", f"第 {page.frame + 1} 帧无法解码（文件损坏或不完整）"
            ) from exc
        dpi = image.info.get("dpi", (FALLBACK_DPI, FALLBACK_DPI))[0]
        decoded = image.copy()
    return decoded, float(dpi or 0)


def _open_image(path: Path, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            return Image.open(path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise SourceError(
                path, "input.too_large", f"图像像素过多，疑为解压炸弹，拒绝处理（上限 {max_pixels:,} 像素）"
            ) from exc
        except UnidentifiedImageError as exc:
            raise SourceError(path, "input.corrupt", "无法识别的图像文件（文件损坏或格式不符）") from exc
        except OSError as exc:
            raise SourceError(path, "input.corrupt", "无法读取图像（文件损坏或不完整）") from exc
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def _open_pdf(path: Path) -> pikepdf.Pdf:
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise SourceError(path, "input.encrypted", "PDF 已加密，无法读取；请提供未加密的扫描件") from exc
    except pikepdf.PdfError as exc:
        raise SourceError(path, "input.corrupt", "PDF 文件损坏，无法打开") from exc
    if pdf.is_encrypted:
        pdf.close()
        raise SourceError(
            path, "input.encrypted", "PDF 已加密（即使无需密码也不符合长期保存要求）；请提供未加密的扫描件"
        )
    return pdf


def page_images(page: pikepdf.Page) -> Iterator[PdfImage]:
    """The images a PDF page draws (a scanned page or a use-copy page draws one)."""
    for raw in page.get_images().values():
        yield PdfImage(cast(pikepdf.Stream, raw))  # an image XObject is a stream; pikepdf types it Object


def _pdf_page_image(page: SourcePage, max_pixels: int) -> tuple[Image.Image, float]:
    with _open_pdf(page.path) as pdf:
        best, dpi = _scanned_image(pdf, page.path, page.frame, max_pixels)
        try:
            image = best.as_pil_image()
            image.load()
        except Exception as exc:  # pikepdf raises several types for damaged streams
            raise SourceError(page.path, "input.corrupt", f"第 {page.frame + 1} 页图像无法解码（文件损坏）") from exc
    return image, dpi


def pdf_scans_readable(path: Path, max_pixels: int) -> None:
    """Every page of a PDF draws a scanned image whose size and page box can be read (nothing decoded): a PDF
    whose pages lack them is refused when it arrives, not by a job that fails five times with a KeyError."""
    with _open_pdf(path) as pdf:
        for frame in range(len(pdf.pages)):
            _scanned_image(pdf, path, frame, max_pixels)


def _scanned_image(pdf: pikepdf.Pdf, path: Path, frame: int, max_pixels: int) -> tuple[PdfImage, float]:
    """A page's largest image and its resolution, from the PDF's structure; a page whose structure is damaged
    (no resources, an image without a size, no page box) is named as damaged."""
    try:
        pdf_page = pdf.pages[frame]
        images = sorted(page_images(pdf_page), key=lambda im: im.width * im.height, reverse=True)
        if not images:
            raise SourceError(path, "input.not_scanned", f"第 {frame + 1} 页没有扫描图像（不是扫描件 PDF）")
        best = images[0]
        if best.width <= 0 or best.height <= 0:
            raise SourceError(path, "input.corrupt", f"第 {frame + 1} 页的扫描图像没有尺寸（文件损坏）")
        if best.width * best.height > max_pixels:
            raise SourceError(path, "input.too_large", f"第 {frame + 1} 页图像像素过多，疑为解压炸弹，拒绝处理")
        width_inches = float(pdf_page.mediabox[2] - pdf_page.mediabox[0]) / 72
    except SourceError:
        raise
    except (KeyError, AttributeError, IndexError, TypeError, ValueError, pikepdf.PdfError) as exc:
        raise SourceError(path, "input.corrupt", f"第 {frame + 1} 页结构损坏，读不出扫描图像（文件损坏）") from exc
    dpi = best.width / width_inches if width_inches > 0 else 0.0
    return best, round(dpi, 1)

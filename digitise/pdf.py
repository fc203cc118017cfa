"""The use copy: one PDF/A-2b per dossier, built with pikepdf.

Each page is its image (JPEG for colour and grey, CCITT G4 for bilevel, as DA/T 31 9.5 asks)
under an invisible text layer. The text layer is written a line at a time in Tesseract's
"glyphless" font: every character is one invisible box of the same width, stretched so the
line covers the printed line — so selecting a line in a viewer selects that line, and
`pdftotext` gives Chinese without spaces between characters.

A colour or grey page's image is at 200 dpi when scanned finer (DA/T 31-2017's floor; the master keeps every
pixel): the page keeps its physical size and its text layer stays in page pixels (the OCR's, the sidecar's),
so a reader of a page's image scales a box in page pixels by (image width / page width) first.
"""

import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, Pdf
from PIL import ImageCms

GLYPHLESS_FONT = Path("/usr/share/tesseract-ocr/5/tessdata/pdf.ttf")  # shipped by Debian's tesseract-ocr
GLYPH_WIDTH = 500  # pdf.ttf: one glyph, 1024 of 2048 units wide

XMP_PAGED_TEXT = "http://ns.adobe.com/xap/1.0/t/pg/"

TO_UNICODE = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 beginbfrange
<0000> <FFFF> <0000>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


@dataclass(frozen=True)
class TextLine:
    text: str
    left: int  # page pixels, from the page's top-left
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class PdfPage:
    image: bytes
    encoding: str  # "jpeg" | "g4"
    colour: str  # "colour" | "grey" | "bilevel"
    width: int  # page pixels: the unit of `lines`, at `dpi`
    height: int
    image_width: int  # the image's own pixels: the page's, or fewer (a colour or grey page at 200 dpi)
    image_height: int
    dpi: float
    lines: Sequence[TextLine]


@dataclass(frozen=True)
class Bookmark:
    group: str  # class, e.g. "第一类 履历材料"
    title: str  # "1-1 职工登记表"
    page: int  # 1-based


@dataclass(frozen=True)
class PdfInfo:
    archival_code: str
    title: str
    material_titles: Sequence[str]
    creator_tool: str
    created: datetime


def write_pdf(pages: Sequence[PdfPage], bookmarks: Sequence[Bookmark], info: PdfInfo, out: Path) -> None:
    pdf = Pdf.new()
    font = _glyphless_font(pdf)
    for page in pages:
        _add_page(pdf, page, font)
    _add_bookmarks(pdf, bookmarks)
    _make_pdfa(pdf, info, len(pages))
    _save(pdf, out)


def replace_bookmarks(
    source: Path, bookmarks: Sequence[Bookmark], material_titles: Sequence[str], modified: datetime, out: Path
) -> None:
    """The same PDF with the bookmarks and the described materials of a changed catalogue: every page, image
    and text layer is copied as it is (no page is encoded or read again)."""
    with Pdf.open(source) as pdf:
        if Name.Outlines in pdf.Root:
            del pdf.Root.Outlines
        _add_bookmarks(pdf, bookmarks)
        stamp = _stamp(modified)
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            title = meta.get("dc:title", "")
            meta["dc:description"] = "；".join(material_titles) or title
            meta["dc:subject"] = set(material_titles) or {title}
            meta["xmp:ModifyDate"] = stamp
            meta["xmp:MetadataDate"] = stamp
        _save(pdf, out)


def replace_text_layer(
    source: Path, pages: Mapping[int, Sequence[TextLine]], page_widths: Mapping[int, int], modified: datetime, out: Path
) -> None:
    """The same PDF with the text layer of some pages (1-based) written anew from their lines — corrected text
    (校对) — and every page image copied as it is: nothing is encoded, read or scaled again. The lines are in
    page pixels, and `page_widths` gives each page's width in them: the page image may have fewer pixels (a
    colour or grey page at 200 dpi), so its own width says nothing of the lines' scale."""
    with Pdf.open(source) as pdf:
        for number, lines in pages.items():
            page = pdf.pages[number - 1]
            width_pt, height_pt = float(page.MediaBox[2]), float(page.MediaBox[3])
            scale = width_pt / page_widths[number]
            drawn = page.Contents.read_bytes().split(b"\nBT 3 Tr", 1)[0]  # the image, as _add_page drew it
            text = [_text_line(line, scale, height_pt) for line in lines]
            page.Contents = pdf.make_stream(b"\n".join([drawn, b"BT 3 Tr", *text, b"ET"] if text else [drawn]))
        stamp = _stamp(modified)
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["xmp:ModifyDate"] = stamp
            meta["xmp:MetadataDate"] = stamp
        _save(pdf, out)


def _stamp(moment: datetime) -> str:
    """An XMP date in the zone it was given in (the bureau's, from the service), else the machine's."""
    return (moment if moment.tzinfo else moment.astimezone()).isoformat(timespec="seconds")


def _save(pdf: Pdf, out: Path) -> None:
    """Write beside `out` and move it into place, so no half-written file is ever at `out`."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        pdf.save(tmp, fix_metadata_version=False, deterministic_id=False)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _glyphless_font(pdf: Pdf) -> pikepdf.Object:
    font_file = pdf.make_stream(GLYPHLESS_FONT.read_bytes())
    font_file.Length1 = len(GLYPHLESS_FONT.read_bytes())
    cid_to_gid = pdf.make_stream(zlib.compress(b"\x00\x01" * 65536), Filter=Name.FlateDecode)
    descriptor = pdf.make_indirect(
        Dictionary(
            Type=Name.FontDescriptor,
            FontName=Name.GlyphLessFont,
            Flags=5,
            FontBBox=Array([0, 0, GLYPH_WIDTH, 1000]),
            ItalicAngle=0,
            Ascent=1000,
            Descent=0,
            CapHeight=1000,
            StemV=80,
            FontFile2=font_file,
        )
    )
    cid_font = pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.CIDFontType2,
            BaseFont=Name.GlyphLessFont,
            CIDSystemInfo=Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
            FontDescriptor=descriptor,
            DW=GLYPH_WIDTH,
            CIDToGIDMap=cid_to_gid,
        )
    )
    return pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type0,
            BaseFont=Name.GlyphLessFont,
            Encoding=Name("/Identity-H"),
            DescendantFonts=Array([cid_font]),
            ToUnicode=pdf.make_stream(TO_UNICODE),
        )
    )


def _add_page(pdf: Pdf, page: PdfPage, font: pikepdf.Object) -> None:
    """The image drawn over the whole page (the page's physical size, whatever its pixels), the text in page
    pixels at the page's dpi."""
    scale = 72.0 / page.dpi
    width_pt, height_pt = page.width * scale, page.height * scale
    if page.encoding == "g4":
        image = pdf.make_stream(
            page.image,
            Type=Name.XObject,
            Subtype=Name.Image,
            Width=page.image_width,
            Height=page.image_height,
            ColorSpace=Name.DeviceGray,
            BitsPerComponent=1,
            Filter=Name.CCITTFaxDecode,
            DecodeParms=Dictionary(K=-1, Columns=page.image_width, Rows=page.image_height, BlackIs1=False),
        )
    else:
        image = pdf.make_stream(
            page.image,
            Type=Name.XObject,
            Subtype=Name.Image,
            Width=page.image_width,
            Height=page.image_height,
            ColorSpace=Name.DeviceRGB if page.colour == "colour" else Name.DeviceGray,
            BitsPerComponent=8,
            Filter=Name.DCTDecode,
        )
    content = [f"q {width_pt:.3f} 0 0 {height_pt:.3f} 0 0 cm /Im0 Do Q".encode()]
    if page.lines:
        content.append(b"BT 3 Tr")  # render mode 3: invisible, selectable, searchable
        for line in page.lines:
            content.append(_text_line(line, scale, height_pt))
        content.append(b"ET")
    pdf_page = pikepdf.Page(
        Dictionary(
            Type=Name.Page,
            MediaBox=Array([0, 0, round(width_pt, 3), round(height_pt, 3)]),
            Resources=Dictionary(XObject=Dictionary(Im0=image), Font=Dictionary(F1=font)),
            Contents=pdf.make_stream(b"\n".join(content)),
        )
    )
    pdf.pages.append(pdf_page)


def _text_line(line: TextLine, scale: float, page_height_pt: float) -> bytes:
    chars = [
        c for c in line.text if ord(c) <= 0xFFFF
    ]  # Identity-H codes: the BMP, which holds all of GB 18030's common set
    if not chars or line.width <= 0 or line.height <= 0:
        return b""
    size = line.height * scale
    natural = len(chars) * size * GLYPH_WIDTH / 1000
    stretch = 100.0 * line.width * scale / natural
    x = line.left * scale
    y = page_height_pt - (line.top + line.height) * scale  # baseline at the box's foot: the glyph box spans the line
    hex_text = "".join(f"{ord(c):04X}" for c in chars)
    return f"/F1 {size:.2f} Tf {stretch:.2f} Tz 1 0 0 1 {x:.2f} {y:.2f} Tm <{hex_text}> Tj".encode()


def _add_bookmarks(pdf: Pdf, bookmarks: Sequence[Bookmark]) -> None:
    if not bookmarks:
        return
    with pdf.open_outline() as outline:
        for group, items in groupby(bookmarks, key=lambda b: b.group):
            entries = list(items)
            parent = pikepdf.OutlineItem(group, entries[0].page - 1)
            parent.children.extend(pikepdf.OutlineItem(b.title, b.page - 1) for b in entries)
            outline.root.append(parent)
    pdf.Root.PageMode = Name.UseOutlines


def _make_pdfa(pdf: Pdf, info: PdfInfo, page_count: int) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    profile = pdf.make_stream(icc, N=3)
    pdf.Root.OutputIntents = Array(
        [
            Dictionary(
                Type=Name.OutputIntent,
                S=Name.GTS_PDFA1,
                OutputConditionIdentifier="sRGB",
                Info="sRGB IEC61966-2.1",
                DestOutputProfile=profile,
            )
        ]
    )
    stamp = _stamp(info.created)
    # The metadata names the file and its materials; it never holds the citizen ID (personal information).
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
        meta["dc:title"] = info.title
        meta["dc:identifier"] = info.archival_code
        meta["dc:description"] = "；".join(info.material_titles) or info.title
        meta["dc:subject"] = set(info.material_titles) or {info.title}
        meta["xmp:CreatorTool"] = info.creator_tool
        meta["pdf:Producer"] = f"pikepdf {pikepdf.__version__}"
        meta["xmp:CreateDate"] = stamp
        meta["xmp:ModifyDate"] = stamp
        meta["xmp:MetadataDate"] = stamp
        meta[f"{{{XMP_PAGED_TEXT}}}NPages"] = str(page_count)

"""Reading uploaded files: the text of a CSV as the bureaus' offices save it (Excel writes GBK on
Chinese Windows, UTF-8 with a BOM elsewhere). One rule for every CSV import."""

from archive_service.errors import ArchiveError


def csv_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030 (a superset of GBK); binary content is refused."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ArchiveError("file.encoding", "CSV 编码无法识别，请以 UTF-8 或 GBK 保存", "file", 422)
    if "\x00" in text:
        raise ArchiveError("file.type", "文件不是文本格式的 CSV", "file", 422)
    return text

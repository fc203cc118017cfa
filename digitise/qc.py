"""QC over a whole dossier's pages: the findings (resolution, blank and faint pages, orientation, OCR
confidence, page errors) that decide whether a use copy may be written (DA/T 31's checks)."""

from digitise import ocr
from digitise.findings import Finding, Severity
from digitise.options import DigitiseOptions
from digitise.page_record import PageRecord

# PNG keeps resolution in whole pixels per metre, so 300 dpi reads back as 299.9994: no finding for that.
DPI_TOLERANCE = 0.5
BLANK_INK_FRACTION = 0.001  # under 0.1 % marks (after despeckling) the page is a blank back


def too_many_pages(count: int, limit: int) -> Finding:
    """More pages than one run takes (DigitiseOptions.max_pages): the service refuses them at upload with these
    words, the pipeline before it works on any page."""
    return Finding(
        "pages.too_many",
        Severity.error,
        f"扫描文件共 {count:,} 页，超过一次数字化的上限 {limit:,} 页：请核对是否选错文件，或分卷提交",
    )


def resolution_finding(
    dpi: float, options: DigitiseOptions, page: int | None = None, source: str | None = None
) -> Finding | None:
    """A page's declared resolution against DA/T 31 9.4: below the minimum is an error (the service refuses
    such a scan at upload already, with this finding's words), below the recommended value a warning."""
    if dpi < options.min_dpi - DPI_TOLERANCE:
        return Finding(
            "resolution.below_minimum",
            Severity.error,
            f"扫描分辨率 {dpi:g} dpi，低于最低要求 {options.min_dpi} dpi，须重新扫描",
            page,
            source,
            measured=dpi,
            rule=options.min_dpi,
        )
    if dpi < options.recommended_dpi - DPI_TOLERANCE:
        return Finding(
            "resolution.below_recommended",
            Severity.warning,
            f"扫描分辨率 {dpi:g} dpi，低于建议的 {options.recommended_dpi} dpi（小字和 OCR 需要 300 dpi）",
            page,
            source,
            measured=dpi,
            rule=options.recommended_dpi,
        )
    return None


def page_findings(records: list[PageRecord], options: DigitiseOptions) -> list[Finding]:
    out: list[Finding] = []
    for r in records:
        page, source = r.page, r.source
        if r.error is not None:
            out.append(Finding(r.error["code"], Severity.error, r.error["message"], page, source))
            continue
        dpi = r.dpi
        if dpi is None:
            out.append(
                Finding(
                    "resolution.unknown",
                    Severity.warning,
                    f"图像未记录分辨率，按 A4 幅面估算为 {r.dpi_assumed} dpi，请核对扫描设置",
                    page,
                    source,
                    measured=r.dpi_assumed,
                    rule=options.min_dpi,
                )
            )
        elif found := resolution_finding(dpi, options, page, source):
            out.append(found)
        if r.blank:
            out.append(
                Finding(
                    "blank.page",
                    Severity.info,
                    "空白页（如空白背面），已保留并记录",
                    page,
                    source,
                    measured=r.mark_fraction,
                    rule=BLANK_INK_FRACTION,
                )
            )
        elif r.source_mode != "colour":
            out.append(
                Finding(
                    "colour_mode.not_colour",
                    Severity.warning,
                    f"以{'黑白' if r.source_mode == 'bilevel' else '灰度'}模式扫描；标准建议彩色，"
                    "有红头、印章、照片的页面必须彩色扫描，请核对原件",
                    page,
                    source,
                    measured=r.source_mode,
                    rule="colour",
                )
            )
        if abs(r.skew_after) > options.max_residual_skew:
            out.append(
                Finding(
                    "skew.residual",
                    Severity.warning,
                    f"纠偏后仍倾斜 {r.skew_after:g}°，超过 {options.max_residual_skew:g}°",
                    page,
                    source,
                    measured={"before": r.skew_before, "after": r.skew_after},
                    rule=options.max_residual_skew,
                )
            )
        if r.rotation:
            out.append(
                Finding(
                    "orientation.turned",
                    Severity.info,
                    f"页面方向不正，已旋转 {r.rotation}°",
                    page,
                    source,
                    measured=r.rotation,
                )
            )
        if r.ocr_confidence is not None and r.ocr_confidence < ocr.LOW_CONFIDENCE:
            out.append(
                Finding(
                    "ocr.low_confidence",
                    Severity.warning,
                    f"文字识别置信度 {r.ocr_confidence:g}，偏低，请人工核对本页",
                    page,
                    source,
                    measured=r.ocr_confidence,
                    rule=ocr.LOW_CONFIDENCE,
                )
            )
    return out

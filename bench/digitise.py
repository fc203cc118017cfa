"""Digitisation throughput, OCR accuracy, facts and output size: every OCR engine of our pipeline
against OCRmyPDF on the same pages.

Generates personnel-file-like scans at 300 dpi with known text — four typefaces (宋, 黑, 楷, 明),
ruled form cells, pale carbon copies, red seals stamped over the text, photos, skew, noise, two
pages fed upside down, a blank back — saves them as the scanner would (LZW TIFF), and runs

  * this pipeline once per OCR engine (`digitise --engine paddle|tesseract`, language chi_sim);
  * `ocrmypdf -l chi_sim --rotate-pages --deskew --output-type pdfa-2 -j N` on a PDF of the same
    scans (made losslessly with img2pdf, as a scanner's PDF would be).

Character error rate: edit distance between the PDF's text (pdftotext, whitespace removed) and
the printed text, over the printed text's length, summed over all pages. Facts: on each text page,
whether `digitise.facts` finds in that text exactly the printed citizen ID, date of birth,
参加工作时间 (where the form has it) and name — what a benefit check looks for.

    .venv/bin/pip install -e '.[bench]'; apt install ghostscript   (make bench does both)
    .venv/bin/python bench/digitise.py [--pages 24] [--jobs 2] [--engines paddle,tesseract]
"""

import argparse
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import img2pdf  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from digitise import ocr  # noqa: E402
from digitise.facts import extract  # noqa: E402
from digitise.options import DigitiseOptions  # noqa: E402
from digitise.pipeline import digitise  # noqa: E402
from digitise.specimen import TYPEFACES, SpecimenPage, SpecimenPerson, draw_page, person, save_scan  # noqa: E402


def make_pages(n: int, folder: Path) -> tuple[list[Path], list[str], list[SpecimenPage], SpecimenPerson]:
    rng = random.Random(2026)
    who = person(rng)
    typefaces = list(TYPEFACES)
    files, truth, pages = [], [], []
    for i in range(n):
        kind = i % 8
        page = draw_page(
            rng,
            who,
            skew=rng.uniform(-3, 3),
            seal=kind in (0, 2, 4, 6, 7),
            photo=kind == 0,
            upside_down=kind in (3, 7),
            blank=kind == 5,
            noise=rng.choice((4.0, 8.0, 14.0)),
            typeface=typefaces[i % len(typefaces)],
            grid=i % 3 == 0,
            faint=i % 5 == 2,
        )
        files.append(save_scan(page, folder / f"scan-{i + 1:04d}.tif"))
        truth.append(page.text)
        pages.append(page)
    return files, truth, pages, who


def proposal_score(proposed: list[dict], pages: list[SpecimenPage]) -> tuple[int, int, int]:
    """(text pages, with the right title, with the right class) by the proposed material covering each page."""
    title_right = class_right = text_pages = 0
    for n, page in enumerate(pages, start=1):
        if page.blank:
            continue
        text_pages += 1
        covering = next((m for m in proposed if m["first_page"] <= n <= m["last_page"]), None)
        title_right += bool(covering and covering["title"] == page.title)
        class_right += bool(covering and covering["class"] == page.class_code)
    return text_pages, title_right, class_right


def page_texts(pdf: Path, pages: int) -> list[str]:
    out = []
    for p in range(1, pages + 1):
        text = subprocess.run(
            ["pdftotext", "-f", str(p), "-l", str(p), str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        out.append(re.sub(r"\s+", "", text))
    return out


def facts_score(texts: list[str], pages: list[SpecimenPage], who: SpecimenPerson) -> dict[str, float]:
    """Share of text pages on which each printed fact is found exactly, and all of them at once."""
    hits = {"citizen ID": 0, "date of birth": 0, "参加工作时间": 0, "name": 0, "all four": 0}
    text_pages = 0
    for text, page in zip(texts, pages, strict=True):
        if page.blank:
            continue
        text_pages += 1
        found = extract(text)
        right = {
            "citizen ID": who.citizen_id in found.citizen_ids,
            "date of birth": who.birth_date.isoformat() in found.birth_dates,
            "参加工作时间": f"{who.work_start:%Y-%m}" in found.work_start_dates,
            "name": who.name in found.names,
        }
        for key, ok in right.items():
            hits[key] += ok
        hits["all four"] += all(right.values())
    return {key: count / max(1, text_pages) for key, count in hits.items()}


def cer(texts: list[str], truth: list[str]) -> float:
    errors = sum(Levenshtein.distance(t, g) for t, g in zip(texts, truth, strict=True))
    return errors / max(1, sum(len(g) for g in truth))


PROPOSALS: dict[str, list[dict]] = {}  # the catalogue each of our runs proposed, by engine


def run_ours(files: list[Path], out: Path, jobs: int, engine: str) -> float:
    start = time.perf_counter()
    result = digitise(files, out, DigitiseOptions(engine=engine, jobs=jobs, languages="chi_sim"))
    elapsed = time.perf_counter() - start
    if not result.written:
        raise SystemExit(f"pipeline did not write the PDF: {result.findings}")
    PROPOSALS[engine] = result.sidecar["proposed_catalogue"]
    return elapsed


def run_ocrmypdf(files: list[Path], work: Path, out: Path, jobs: int) -> float:
    source = work / "scans.pdf"
    source.write_bytes(img2pdf.convert([str(f) for f in files]))
    ocrmypdf = Path(sys.executable).parent / "ocrmypdf"
    start = time.perf_counter()
    subprocess.run(
        [
            str(ocrmypdf),
            "-l",
            "chi_sim",
            "--rotate-pages",
            "--deskew",
            "--output-type",
            "pdfa-2",
            "-j",
            str(jobs),
            "-q",
            str(source),
            str(out),
        ],
        check=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--engines", default=",".join(ocr.ENGINES), help="our OCR engines to run, by name")
    args = parser.parse_args()
    if not shutil.which("gs"):
        raise SystemExit("OCRmyPDF needs Ghostscript: apt install ghostscript (make bench installs it)")
    work = Path(tempfile.mkdtemp(prefix="bench-digitise-"))
    try:
        files, truth, specimens, who = make_pages(args.pages, work)
        rows = []
        ours = [
            (
                f"ours, {ocr.label(name)}" + (" (default)" if name == ocr.DEFAULT_ENGINE else ""),
                lambda o, name=name: run_ours(files, o, args.jobs, name),
                work / f"ours-{name}.pdf",
            )
            for name in args.engines.split(",")
        ]
        for name, runner, out in (
            *ours,
            (
                "OCRmyPDF "
                + subprocess.run(
                    [str(Path(sys.executable).parent / "ocrmypdf"), "--version"], capture_output=True, text=True
                ).stdout.strip(),
                lambda o: run_ocrmypdf(files, work, o, args.jobs),
                work / "ocrmypdf.pdf",
            ),
        ):
            elapsed = runner(out)
            texts = page_texts(out, args.pages)
            rows.append(
                (
                    name,
                    args.pages / elapsed * 60,
                    cer(texts, truth),
                    out.stat().st_size / args.pages,
                    facts_score(texts, specimens, who),
                )
            )
        print(
            f"\n{args.pages} pages, A4 at 300 dpi, {args.jobs} jobs; {platform.node()} "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}\n"
        )
        facts = "ID | birth | 参加工作时间 | name | all four"
        print(f"| pipeline | pages/min | CER (whitespace ignored) | KiB/page | {facts} |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, ppm, error_rate, size, facts in rows:
            shares = " | ".join(f"{v:.0%}" for v in facts.values())
            print(f"| {name} | {ppm:.1f} | {error_rate:.2%} | {size / 1024:.0f} | {shares} |")
        base = rows[-1]
        for name, ppm, error_rate, size, _ in rows[:-1]:
            print(
                f"\n{name} vs OCRmyPDF: {ppm / base[1]:.2f}× pages/min, CER {error_rate:.2%} vs {base[2]:.2%}, "
                f"{size / base[3]:.2f}× bytes/page"
            )
        print("\n| catalogue proposal (issue 17, target ≥ 90 %) | text pages | title right | class right |")
        print("|---|---|---|---|")
        for engine, proposed in PROPOSALS.items():
            text_pages, titles, classes = proposal_score(proposed, specimens)
            print(f"| ours ({engine}) | {text_pages} | {titles / text_pages:.0%} | {classes / text_pages:.0%} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Search: index N generated dossiers (particulars, catalogue, 20 pages of Chinese text each) into
the embedded index, then time a fixed mix of 1,000 queries.

The text imitates OCR of personnel forms: each file holds forms by how common they are (every
file a 职工登记表, one in twenty a 工伤认定书); each page prints its form's title and phrases,
the name, birth date and ID, and filler words drawn from 3,000 Han characters, about 200
characters a page. Each page carries the dates it writes, read as the application reads them
(`digitise.facts.date_spans`, timed apart with the fact statements `finding/documents.py` also reads).
The mix is a fifth each of: a citizen ID (half the full 18, half the last 6), a name, a phrase, a
phrase with an enterprise and birth-date filter, a date as typed (1962年3月, as an ISO month) —
each timed as the search page asks it (first 20 hits with snippets, total and facets).

    .venv/bin/python bench/search.py [--dossiers 100000] [--queries 1000] [--keep DIR]
"""

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digitise.facts import date_spans, statements  # noqa: E402
from digitise.specimen import GIVEN, SURNAMES, citizen_id_for  # noqa: E402
from search import (  # noqa: E402
    DossierDocument,
    EmbeddedSearchIndex,
    MaterialEntry,
    PageText,
    Scope,
    SearchQuery,
)

# The forms of a retiree's file: (class, title, share of files holding it, phrases printed on it).
FORMS = (
    (1, "职工登记表", 1.00, ("参加工作时间", "出生日期", "文化程度", "民族汉族", "籍贯", "家庭住址")),
    (1, "干部履历表", 0.35, ("何时何地受过何种奖励", "本人成分", "家庭主要成员", "社会关系", "主要经历")),
    (2, "自传", 0.30, ("本人自传", "家庭出身", "学习经历", "思想认识")),
    (4, "工资审批表", 0.95, ("工资审批表", "工资套改", "标准工资", "工资级别", "岗位津贴")),
    (4, "转正定级审批表", 0.60, ("转正定级", "见习期满", "定为", "学徒期")),
    (4, "技术职称评定表", 0.20, ("技术职称评定", "助理工程师", "评审委员会", "专业技术")),
    (6, "奖励审批表", 0.25, ("奖惩情况", "先进生产者", "记功", "劳动模范")),
    (7, "入党志愿书", 0.30, ("入党志愿书", "入党介绍人", "预备党员", "支部大会")),
    (8, "招工审批表", 0.50, ("招工审批表", "全民所有制", "合同制工人", "劳动局")),
    (9, "退休审批表", 0.90, ("退休审批表", "连续工龄", "退休费", "经研究同意", "病退鉴定")),
    (9, "工伤认定书", 0.05, ("工伤认定", "伤残等级", "劳动能力鉴定")),
    (10, "调动介绍信", 0.40, ("调动介绍信", "工种岗位", "行政介绍信", "职工调动")),
    (10, "独生子女证明", 0.15, ("独生子女证明", "独生子女父母光荣证")),
)
PHRASES = tuple(p for form in FORMS for p in form[3])
HAN = [chr(0x4E00 + i) for i in range(0, 3000 * 7, 7)]  # 3,000 characters spread over the block
TRADES = "钢铁 纺织 化工 电子 建材 食品 印刷 运输 仪表 橡胶".split()
ENTERPRISES = [f"北京第{i}机械厂" for i in range(1, 41)] + [f"首都{t}公司" for t in TRADES]
BUREAU = 1


def make_dossiers(n: int, seed: int = 7) -> Iterator[DossierDocument]:
    rng = random.Random(seed)
    words = ["".join(rng.choices(HAN, k=rng.choice((2, 2, 3, 4)))) for _ in range(20_000)]
    for i in range(1, n + 1):
        born = date(1945, 1, 1) + timedelta(days=rng.randrange(20 * 365))
        sex = rng.choice("MF")
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN + "".join(HAN[:300]), k=rng.choice((1, 2))))
        cid = citizen_id_for("110102", born, i % 1000, sex)
        enterprise = rng.randrange(len(ENTERPRISES))
        held = [f for f in FORMS if rng.random() < f[2]] or [FORMS[0]]
        materials = tuple(MaterialEntry(f"{c}-{k}", c, title) for k, (c, title, _, _) in enumerate(held, start=1))
        pages = []
        for p in range(1, 21):  # the 20 pages shared out over the forms held, in catalogue order
            k = (p - 1) * len(held) // 20
            c, title, _, printed = held[k]
            parts = [title, f"姓名{name}", f"出生{born.year}年{born.month}月", f"身份证号{cid}" if p == 1 else ""]
            for _ in range(45):
                parts.append(rng.choice(printed) if rng.random() < 0.08 else rng.choice(words))
            text = "，".join(parts)
            pages.append(PageText(p, text, materials[k].sequence, c, tuple(date_spans(text))))
        yield DossierDocument(
            dossier_id=i,
            archival_code=f"J102-RS-{i:06d}",
            name=name,
            citizen_id=cid,
            birth_date=born,
            retirement_date=date(born.year + 60, born.month, 1),
            enterprise_id=enterprise + 1,
            enterprise_name=ENTERPRISES[enterprise],
            custodian_id=BUREAU if i % 10 else 2,  # a tenth held by another bureau: scope must drop them
            status="on_loan" if i % 97 == 0 else "in_custody",
            digitisation="done",
            classified=i % 50 == 0,
            materials=materials,
            pages=tuple(pages),
        )


def query_mix(n_dossiers: int, count: int, seed: int = 11) -> list[tuple[str, SearchQuery]]:
    rng = random.Random(seed)
    picks = sorted(rng.sample(range(1, n_dossiers + 1), min(count, n_dossiers)))
    known = {d.dossier_id: d for d in make_dossiers(n_dossiers) if d.dossier_id in set(picks)}
    scope = Scope(BUREAU)
    mix: list[tuple[str, SearchQuery]] = []
    for k in range(count):
        d = known[picks[k % len(picks)]]
        kind = ("id", "name", "phrase", "filtered phrase", "date")[k % 5]
        if kind == "id":
            text = d.citizen_id if k % 8 == 0 else d.citizen_id[-6:]
            mix.append((kind, SearchQuery(scope, text)))
        elif kind == "name":
            mix.append((kind, SearchQuery(scope, d.name)))
        elif kind == "date":
            mix.append((kind, SearchQuery(scope, dates=(f"{d.birth_date.year}-{d.birth_date.month:02d}",))))
        elif kind == "phrase":
            mix.append((kind, SearchQuery(scope, rng.choice(PHRASES))))
        else:
            born = d.birth_date
            mix.append(
                (
                    kind,
                    SearchQuery(
                        scope,
                        rng.choice(PHRASES),
                        enterprise_ids=frozenset({d.enterprise_id}),
                        birth_from=date(born.year - 2, 1, 1),
                        birth_to=date(born.year + 2, 12, 31),
                    ),
                )
            )
    return mix


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dossiers", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--keep", type=Path, help="index directory to keep (and reuse if it holds the same count)")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-search-"))
    py = platform.python_version()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {py}")
    index = EmbeddedSearchIndex(root)
    chars = 0

    def counted() -> Iterator[DossierDocument]:
        nonlocal chars
        for d in make_dossiers(args.dossiers):
            chars += sum(len(p.text) for p in d.pages)
            yield d

    if len(index.fingerprints()) != args.dossiers:
        # Generation is timed apart, so the figure is the index's own speed.
        t = time.perf_counter()
        docs = list(counted())
        generate = time.perf_counter() - t
        t = time.perf_counter()
        index.rebuild(iter(docs), progress=lambda n, _: print(f"\r  indexed {n:,}", end="", flush=True))
        elapsed = time.perf_counter() - t
        del docs
        print()
        print(f"generated {args.dossiers:,} dossiers ({chars / 1e6:.0f} M characters of page text) in {generate:.0f} s")
        print(f"| index {args.dossiers:,} dossiers | {elapsed:.1f} s | {args.dossiers / elapsed:,.0f} dossiers/s |")
        # What finding/documents.py adds per page before the index sees it: dates and fact statements.
        sample = [p.text for d in make_dossiers(min(args.dossiers, 5000)) for p in d.pages]
        t = time.perf_counter()
        for text in sample:
            date_spans(text)
            statements(text)
        read = time.perf_counter() - t
        print(
            f"| read dates and facts of {len(sample):,} pages (application) | {read:.1f} s | "
            f"{len(sample) / read:,.0f} pages/s |"
        )
    print(f"| index size | {directory_size(root) / 2**30:.2f} GiB |")
    mix = query_mix(args.dossiers, args.queries)
    timings: dict[str, list[float]] = {}
    totals: dict[str, list[int]] = {}
    index.search(mix[0][1])  # open the file
    for kind, query in mix:
        t = time.perf_counter()
        result = index.search(query)
        timings.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
        totals.setdefault(kind, []).append(result.total)
    every = [v for vs in timings.values() for v in vs]
    print("| queries | n | median hits | p50 ms | p95 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind, values in [*timings.items(), ("all", every)]:
        hits = statistics.median(totals[kind]) if kind in totals else statistics.median(sum(totals.values(), []))
        p50, p95 = pct(values, 50), pct(values, 95)
        print(f"| {kind} | {len(values)} | {hits:,.0f} | {p50:.1f} | {p95:.1f} | {max(values):.1f} |")
    index.close()
    if not args.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()

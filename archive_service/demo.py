"""Demo data: a district bureau, five enterprises, 300 retirees with valid IDs and catalogues,
and a user for each role. Deterministic (seeded) so screenshots and tests are repeatable."""

import base64
import hashlib
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import RequesterStanding, Role, SecurityPolicy, User
from archive_service.auth.policy import PRESET
from archive_service.auth.service import create_user
from archive_service.db import bureau_today, bureau_zone, utcnow
from archive_service.dossiers.models import CustodyEventKind, Dossier, DossierStatus, Retiree
from archive_service.dossiers.schemas import MaterialIn
from archive_service.dossiers.service import add_material, make_archival_code, record_custody
from archive_service.organisations.jurisdiction import JurisdictionRule
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel
from archive_service.values import SecrecyLevel, citizen_id_check_char, credit_code_check_char, formed_order
from digitise.specimen import SpecimenPerson
from storage import ObjectStore

DEMO_PASSWORD = "archive-demo-2026"
# 西城 requires the second factor of every role (东城 of none: the setting is the bureau's); the demo accounts of
# both 西城 and its agency come enrolled with these published secrets (README) — a demo's, never a real one.
TWO_FACTOR_DEMO_USERS = ("admin", "security", "clerk", "archivist", "approver", "auditor", "sibao")


def demo_totp_secret(username: str) -> str:
    """The demo account's authenticator secret (Base32), as README lists it for an authenticator app."""
    return base64.b32encode(hashlib.sha256(f"{DEMO_PASSWORD} {username}".encode()).digest()[:20]).decode()


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华文国庆志红玉兰淑珍凤兰德福海燕春梅宝山永利振华"
XICHENG, DONGCHENG = "110102", "110101"
NEIGHBOUR_REGIONS = [XICHENG] * 6 + [DONGCHENG, "110105", "110106", "110108"]

ENTERPRISES = [
    ("北京第一机床厂", "91110102101", XICHENG),
    ("北京市百货大楼", "91110102102", XICHENG),
    ("北京燕山纺织厂", "91110102103", XICHENG),
    ("北京市第三建筑工程公司", "91110102104", XICHENG),
    ("北京红星电子仪器厂", "91110101105", DONGCHENG),
]


def credit_code(prefix11: str, n: int) -> str:
    first17 = f"{prefix11}{n:06d}"
    return first17 + credit_code_check_char(first17)


def citizen_id(region: str, born: date, serial: int, sex: str) -> str:
    serial = serial * 2 + (1 if sex == "M" else 0)  # 17th digit: odd for men, even for women
    first17 = f"{region}{born:%Y%m%d}{serial % 1000:03d}"
    return first17 + citizen_id_check_char(first17)


def _org(session: Session, name: str, kind: OrganisationKind, code: str, region: str, fonds: str | None = None):
    org = Organisation(
        name=name,
        kind=kind,
        credit_code=code,
        region_code=region,
        level=OrganisationLevel.district,
        fonds_code=fonds,
    )
    session.add(org)
    session.flush()
    return org


def _catalogue(rng: random.Random, born: date, started: date, retired: date, party: bool) -> list[MaterialIn]:
    def when(d: date) -> str:
        return d.strftime("%Y%m%d") if rng.random() < 0.7 else d.strftime("%Y%m")  # some only to the month

    items = [
        MaterialIn(class_code="1", title="职工履历表", date_formed=when(started + timedelta(days=400)), pages=4),
        MaterialIn(class_code="1", title="职工登记表", date_formed=when(retired - timedelta(days=3000)), pages=2),
        MaterialIn(class_code="2", title="自传", date_formed=when(started + timedelta(days=200)), pages=6),
        MaterialIn(class_code="3", title="年度考核登记表", date_formed=when(retired - timedelta(days=800)), pages=2),
        MaterialIn(class_code="4", title="学历证明材料", date_formed=when(started - timedelta(days=90)), pages=1),
        MaterialIn(
            class_code="5",
            title="参加工作时间审查表",
            date_formed=when(started + timedelta(days=5000)),
            pages=2,
        ),
        MaterialIn(class_code="9", title="招工登记表", date_formed=when(started), pages=2),
        MaterialIn(class_code="9", title="转正定级审批表", date_formed=when(started + timedelta(days=365)), pages=1),
        MaterialIn(class_code="9", title="工资调整审批表", date_formed=when(started + timedelta(days=3650)), pages=1),
        MaterialIn(class_code="9", title="劳动合同书", date_formed=when(retired - timedelta(days=5000)), pages=4),
        MaterialIn(class_code="9", title="职工退休审批表", date_formed=when(retired - timedelta(days=30)), pages=2),
        MaterialIn(class_code="10", title="退休人员社会化管理移交登记表", date_formed=when(retired), pages=1),
    ]
    if party:
        items.append(
            MaterialIn(class_code="6", title="入党志愿书", date_formed=when(started + timedelta(days=2500)), pages=8)
        )
    if rng.random() < 0.3:
        items.append(
            MaterialIn(
                class_code="7",
                title="先进生产者审批表",
                date_formed=when(started + timedelta(days=rng.randint(1000, 8000))),
                pages=1,
            )
        )
    if rng.random() < 0.15:
        items.append(
            MaterialIn(class_code="9", title="出生日期认定材料", date_formed=None, pages=1, remarks="原件字迹不清")
        )
    return items


def load_demo(session: Session, retirees: int = 300, seed: int = 2026) -> dict[str, int]:
    """Insert the demo set. Refuses to run on a database that already has users."""
    if session.scalar(select(User.id).limit(1)) is not None:
        raise RuntimeError("系统已有用户；演示数据只能载入空系统")
    rng = random.Random(seed)
    bureau = _org(
        session, "北京市西城区档案馆", OrganisationKind.bureau, credit_code("11110102MB0", 1), XICHENG, "J102"
    )
    bureau.jurisdiction_rule = JurisdictionRule.hukou  # 西人社发〔2020〕14号 五: its own 户籍, others sent there
    other = _org(
        session,
        "北京市东城区档案馆",
        OrganisationKind.bureau,
        credit_code("11110101MB0", 2),
        DONGCHENG,
        "J101",
    )
    agency = _org(
        session, "西城区社会保险事业管理中心", OrganisationKind.agency, credit_code("12110102MB0", 3), XICHENG
    )
    enterprises = [
        _org(session, name, OrganisationKind.enterprise, credit_code(prefix, i), region)
        for i, (name, prefix, region) in enumerate(ENTERPRISES, start=10)
    ]

    users = [
        ("admin", "钱系统", Role.administrator, bureau),
        ("security", "吴安全", Role.security_officer, bureau),
        ("clerk", "李接收", Role.intake_clerk, bureau),
        ("archivist", "王档案", Role.archivist, bureau),
        ("approver", "赵审批", Role.approver, bureau),
        ("auditor", "孙审计", Role.auditor, bureau),
        ("sibao", "周社保", Role.requester, agency),
        ("dongcheng", "陈东城", Role.archivist, other),
    ]
    made = {}
    for username, name, role, org in users:
        made[username] = create_user(
            session,
            username=username,
            display_name=name,
            password=DEMO_PASSWORD,
            role=role,
            organisation_id=org.id,
        )
        if username in TWO_FACTOR_DEMO_USERS:
            made[username].totp_secret = demo_totp_secret(username)
            made[username].totp_enrolled_at = utcnow()
    # The agency asks both bureaus for files: each serves 周社保 on its own standing; 西城 made the account.
    for serving, home in ((bureau, True), (other, False)):
        session.add(RequesterStanding(user_id=made["sibao"].id, bureau_id=serving.id, active=True, home=home))
    session.add(
        SecurityPolicy(
            organisation_id=bureau.id, **{**PRESET.__dict__, "two_factor_roles": sorted(r.value for r in Role)}
        )
    )

    used: set[str] = set()
    counts = {bureau.fonds_code or "": 0, other.fonds_code or "": 0}
    for n in range(retirees + retirees // 30):
        holder = bureau if n < retirees else other
        sex = "M" if rng.random() < 0.55 else "F"
        born = date(rng.randint(1945, 1966), rng.randint(1, 12), rng.randint(1, 28))
        region = rng.choice(NEIGHBOUR_REGIONS)
        cid = citizen_id(region, born, rng.randint(0, 499), sex)
        if cid in used:
            continue
        used.add(cid)
        started = date(born.year + rng.randint(17, 22), rng.randint(1, 12), 1)
        retired = date(born.year + (60 if sex == "M" else rng.choice((50, 55))), born.month, 1)
        party = rng.random() < 0.35
        enterprise = rng.choice(enterprises[:4] if holder is bureau else enterprises[4:])
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        retiree = Retiree(
            name=name,
            sex=sex,
            citizen_id=cid,
            birth_date=born,
            work_start_date=started,
            retirement_date=retired,
            enterprise_id=enterprise.id,
            hukou_region_code=region,
            residence_region_code=region,
            party_member=party,
            secrecy=SecrecyLevel.secret if rng.random() < 0.02 else SecrecyLevel.none,
        )
        session.add(retiree)
        session.flush()
        counts[holder.fonds_code or ""] += 1
        status = DossierStatus.in_custody if rng.random() < 0.93 else DossierStatus.on_loan
        dossier = Dossier(
            archival_code=make_archival_code(holder.fonds_code or "", counts[holder.fonds_code or ""]),
            retiree_id=retiree.id,
            custodian_id=holder.id,
            status=status,
            volumes=1,
            class_scheme="enterprise-1992",
        )
        session.add(dossier)
        session.flush()
        for material in sorted(
            _catalogue(rng, born, started, retired, party), key=lambda m: formed_order(m.date_formed)
        ):
            add_material(session, dossier, material)
        record_custody(
            session,
            dossier,
            CustodyEventKind.registered,
            from_org_id=None,
            to_org_id=enterprise.id,
            note="企业登记档案",
        )
        record_custody(
            session,
            dossier,
            CustodyEventKind.received,
            from_org_id=enterprise.id,
            to_org_id=holder.id,
            note="退休人员社会化管理移交",
        )
    _demo_shelving(session, made["archivist"], made["admin"], enterprises[:4], rng)
    _demo_register(session, made["clerk"], enterprises[4], rng)
    return {"organisations": 3 + len(enterprises), "users": len(users), "dossiers": sum(counts.values())}


def _demo_register(session: Session, clerk: User, enterprise: Organisation, rng: random.Random) -> None:
    """An open intake batch of twelve files from an enterprise registered in 东城 whose retirees live in
    西城: its register waits on /transfers to be received."""
    from archive_service.transfers.intake import import_register

    rows: list[list[object]] = []
    for n in range(1, 13):
        sex = "M" if n % 3 else "F"
        born = date(rng.randint(1960, 1965), rng.randint(1, 12), rng.randint(1, 28))
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        retired = date(born.year + (60 if sex == "M" else 55), born.month, 1)
        rows.append(
            [n, name, "男" if sex == "M" else "女", citizen_id(XICHENG, born, 700 + n, sex), born.isoformat(),
             retired.isoformat(), XICHENG, XICHENG, "", 1, rng.randint(60, 140), rng.randint(20, 45), "", "否", "否",
             "否", ""]
        )  # fmt: skip
    import_register(session, clerk, enterprise.id, _register_csv(rows), "名册.csv")


def _register_csv(rows: list[list[object]]) -> bytes:
    import csv
    import io

    from archive_service.transfers.register import HEADERS

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode()


class DemoScans:
    """How the demo's scans become digitised copies: now, in this process (`archive demo --with-scans`, which
    tests wait for), or as digitisation jobs that `archive serve`'s workers run while the site is already up,
    their progress on 后台任务 (`--in-background`, what `make run` does: drawing and reading the demo pages took
    minutes before the first page could be served). In the background the drawing is a job too (demo_scans),
    which commits after each step — SQLite has one writer, and the job's progress and lease are writes — and
    skips a step already done, so an attempt cut short is resumed, never doubled."""

    FILES = 5  # two files scanned from drawn forms, three of a digitised intake batch

    def __init__(self, store: ObjectStore, work_root: Path, in_background: bool = False) -> None:
        self.store, self.work_root, self.in_background = store, work_root, in_background
        self.jobs: list[int] = []
        self.pages = 0
        self.progress: Callable[[], None] = lambda: None  # one file's scans done

    def step_done(self, session: Session) -> None:
        if self.in_background:
            session.commit()

    def digitise(self, session: Session, archivist: User, dossier: Dossier, draw: Callable[[Path], list[Path]]) -> None:
        """Draw the file's scans (into `draw`'s folder) and digitise them, or queue them as its job."""
        import tempfile

        from archive_service.digitisation.service import digitise_dossier, submit
        from archive_service.jobs.models import Job, JobKind

        if self.in_background:
            queued = session.scalar(select(Job.id).where(Job.dossier_id == dossier.id, Job.kind == JobKind.digitise))
            if queued is None:  # not queued by an earlier attempt
                with tempfile.TemporaryDirectory(dir=self.work_root) as folder:
                    scans = draw(Path(folder))
                    self.pages += len(scans)
                    # Staged in the object store, so the folder may go; one OCR lane leaves the other core to
                    # the pages people are opening meanwhile.
                    queued = submit(session, self.store, archivist, dossier, scans, jobs=1).id
                self.step_done(session)
                self.progress()
            self.jobs.append(queued)
        else:
            with tempfile.TemporaryDirectory() as folder:
                scans = draw(Path(folder))
                self.pages += len(scans)
                outcome = digitise_dossier(session, self.store, archivist, dossier, scans, work_root=self.work_root)
            if not outcome.ok:
                raise RuntimeError(outcome.report)
            self.progress()


def digitised_demo_batch(session: Session, scans_to: DemoScans) -> str:
    """A received intake batch of three files whose digitised copies (blank sheets) came with them:
    it waits on /transfers for the archivist's acceptance (验收) before both sides can confirm."""
    from archive_service.shelving.placement import auto_assign
    from archive_service.transfers.intake import import_register
    from archive_service.transfers.models import TransferBatch, TransferItem
    from archive_service.transfers.receiving import Check, receive
    from digitise.specimen import draw_page, person, save_scan

    clerk = session.scalar(select(User).where(User.username == "clerk"))
    archivist = session.scalar(select(User).where(User.username == "archivist"))
    enterprise = session.scalars(
        select(Organisation).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.id)
    ).all()[4]
    assert clerk and archivist
    rng = random.Random(7)
    rows: list[list[object]] = []
    for n in range(1, 4):
        born = date(1962, n, 10 + n)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        rows.append(
            [n, name, "男", citizen_id(XICHENG, born, 800 + n, "M"), born.isoformat(), f"{born.year + 60}-{n:02d}-01",
             XICHENG, XICHENG, "", 1, 2, 2, "", "否", "否", "否", ""]
        )  # fmt: skip
    batch = session.scalar(  # received by an earlier attempt of the background job
        select(TransferBatch).join(TransferItem).where(TransferItem.citizen_id == rows[0][3])
    )
    if batch is None:
        batch = import_register(session, clerk, enterprise.id, _register_csv(rows), "名册.csv")
        for n in range(1, 4):
            receive(session, clerk, batch.id, Check(f"#{n}"))
        auto_assign(session, archivist, _files_of(session, batch.id))  # already on the shelf: acceptance is left
        scans_to.step_done(session)
    sheet = draw_page(rng, person(rng), blank=True, dpi=200, noise=0)
    for dossier in _files_of(session, batch.id):
        scans_to.digitise(
            session, archivist, dossier, lambda folder: [save_scan(sheet, folder / f"{i}.tif") for i in (1, 2)]
        )
    return batch.number


def _files_of(session: Session, batch_id: int) -> list[Dossier]:
    from archive_service.transfers.models import TransferItem

    query = select(Dossier).join(TransferItem, TransferItem.dossier_id == Dossier.id)
    return list(session.scalars(query.where(TransferItem.batch_id == batch_id).order_by(TransferItem.row_no)))


def _scan_demo_file(
    session: Session,
    scans_to: DemoScans,
    archivist: User,
    dossier: Dossier,
    rng: random.Random,
    stranger: SpecimenPerson | None = None,
) -> None:
    """Digitise a demo file from drawn pages: the first page of each of its first three materials is that
    material's form, filled in for the file's own retiree (or, for the third, for `stranger`: a page filed
    in the wrong file); every other page is a blank sheet (drawing them all would only cost time)."""
    from archive_service.dossiers.service import catalogue
    from digitise.specimen import draw_page, save_scan

    r = dossier.retiree
    own = SpecimenPerson(r.name, r.citizen_id or "", r.birth_date, r.sex)

    def draw(folder: Path) -> list[Path]:
        blank = save_scan(draw_page(rng, own, blank=True), folder / "blank.tif").read_bytes()
        scans: list[Path] = []
        for n, material in enumerate(catalogue(dossier)):
            for sheet in range(material.pages):
                path = folder / f"scan-{len(scans) + 1:03d}.tif"
                if sheet == 0 and n < 3:
                    who = stranger if stranger is not None and n == 2 else own
                    save_scan(draw_page(rng, who, skew=1.2 if n == 0 else 0.0, lines=8, title=material.title), path)
                else:
                    path.write_bytes(blank)
                scans.append(path)
        return scans

    scans_to.digitise(session, archivist, dossier, draw)


def _demo_shelving(
    session: Session, archivist: User, admin: User, enterprises: list[Organisation], rng: random.Random
) -> None:
    """西城's store: its policy, a 30 mm box profile, one store room of compact shelving holding the demo
    files (a second room still empty), the reading room and office, two weeks of climate readings (one
    humid afternoon outside the limits) and projected retirements for the forecast."""
    from decimal import Decimal

    from archive_service.shelving import climate, forecast, layout, placement, planning
    from archive_service.shelving.models import RoomKind

    forecast.set_policy(session, admin, planning.presets()["xicheng"])
    box = layout.add_profile(session, archivist, "人事档案盒 30 mm", 30, 310, 225)
    store = layout.add_room(session, archivist, layout.RoomForm("一号库房", RoomKind.store, Decimal(120)))
    for code in ("A01", "A02"):
        layout.add_unit(session, archivist, store.id, layout.UnitForm(code, 4, 3, 6, profile_id=box.id))
    layout.add_room(session, archivist, layout.RoomForm("二号库房", RoomKind.store, Decimal(90)))
    layout.add_room(session, archivist, layout.RoomForm("阅档室", RoomKind.reading, Decimal(30)))
    layout.add_room(session, archivist, layout.RoomForm("档案管理人员办公室", RoomKind.office, Decimal(20)))
    placement.auto_assign(session, archivist)
    now = datetime.now(bureau_zone()).replace(minute=0, second=0, microsecond=0)
    for day in range(14, 0, -1):
        for hour in (9, 15):
            at = (now - timedelta(days=day)).replace(hour=hour)
            temperature = Decimal(str(round(rng.uniform(17.5, 20.5), 1)))
            humidity = Decimal(str(round(rng.uniform(48, 56), 1)))
            if day == 3 and hour == 15:
                humidity = Decimal("67.5")  # a wet afternoon: the dashboard shows it
            climate.record_reading(session, archivist, store.id, at, temperature, humidity)
    for year in range(bureau_today().year, bureau_today().year + 5):
        for enterprise in enterprises:
            forecast.set_projection(session, admin, enterprise.id, year, rng.randint(20, 60))


def digitise_demo_dossier(session: Session, scans_to: DemoScans) -> str:
    """Scan the first 西城 dossier (its first three materials printed as forms of its own retiree, blank
    sheets for the rest), and a second one with one page of another person's file among its own, to show
    the misfiled-page check; then file two requests for the first — one waiting for the approver, one
    approved for online viewing — so a new installation shows digitisation, approval and the watermarked
    viewer straight away, with pages that belong to the file they are in."""
    from archive_service.access.models import RequestMode, RetrievalRequest
    from archive_service.access.service import RequestForm, decide, submit_request
    from digitise.specimen import citizen_id_for, person

    archivist = session.scalar(select(User).where(User.username == "archivist"))
    sibao = session.scalar(select(User).where(User.username == "sibao"))
    approver = session.scalar(select(User).where(User.username == "approver"))
    assert archivist and sibao and approver
    first, second = session.scalars(
        select(Dossier).where(Dossier.custodian_id == archivist.organisation_id).order_by(Dossier.id).limit(2)
    ).all()
    rng = random.Random(2026)
    _scan_demo_file(session, scans_to, archivist, first, rng)
    _scan_demo_file(session, scans_to, archivist, second, rng, stranger=person(rng))
    dossier = first
    today = bureau_today()
    if session.scalar(select(RetrievalRequest.id).where(RetrievalRequest.dossier_id == dossier.id)):
        return dossier.archival_code  # filed by an earlier attempt of the background job
    for approve in (False, True):
        form = RequestForm(
            dossier=dossier.archival_code,
            purpose="benefit_change",
            purpose_detail="待遇变更，核对参加工作时间",
            material_classes=[1, 9],
            mode=RequestMode.online_view,
            valid_from=today,
            valid_until=today + timedelta(days=13),
            reader_name=sibao.display_name,
            reader_citizen_id=citizen_id_for("110102", date(1983, 4, 5), 17, "F"),
        )
        use_request = submit_request(session, sibao, form, "demo")
        if approve:
            session.flush()
            decide(session, approver, use_request, approve=True, client="demo", allow_print=True)
    scans_to.step_done(session)
    return dossier.archival_code

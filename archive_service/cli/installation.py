"""Setting up an installation: the database schema, the bureau and its first administrator, demo data."""

import typer

from archive_service.auth.models import Role
from archive_service.cli.common import fail

app = typer.Typer()
db_app = typer.Typer(help="数据库结构", no_args_is_help=True)
orgs_app = typer.Typer(help="单位（档案馆、移交单位）", no_args_is_help=True)
users_app = typer.Typer(help="用户账号", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(users_app, name="users")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """执行全部数据库迁移，并同步参考数据（分类方案）。"""
    from archive_service.db import get_engine
    from archive_service.migrate import upgrade

    upgrade(get_engine())
    typer.echo(f"数据库已是最新结构：{get_engine().url.render_as_string(hide_password=True)}")


@orgs_app.command("create")
def orgs_create(
    name: str = typer.Option(..., help="单位名称"),
    kind: str = typer.Option("bureau", help="单位类型：bureau（档案馆）、enterprise（移交单位）等"),
    credit_code: str = typer.Option(..., help="统一社会信用代码"),
    region_code: str = typer.Option(..., help="行政区划代码（6 位）"),
    level: str = typer.Option(
        "district", help="层级：central 央属、provincial 省属、city 市属、district 区属、other 其他"
    ),
    fonds_code: str | None = typer.Option(None, help="全宗号（档案馆）"),
) -> None:
    """登记一个单位（如首位管理员之前的档案馆本身）。"""
    from pydantic import ValidationError

    from archive_service.db import transaction
    from archive_service.errors import ArchiveError
    from archive_service.organisations.schemas import OrganisationIn
    from archive_service.organisations.service import create_organisation

    try:
        data = OrganisationIn(
            name=name,
            kind=kind,
            credit_code=credit_code,
            region_code=region_code,
            level=level,
            fonds_code=fonds_code,
        )
        with transaction() as session:
            org = create_organisation(session, data)
            typer.echo(f"单位 {org.id}：{org.name}")
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(map(str, first["loc"]))
        # The schema's own rules carry a Chinese message (their type has a dot); pydantic's do not.
        said = first["msg"] if "." in first["type"] else "不符合要求"
        fail(Exception(f"--{field.replace('_', '-')}：{said}"))
    except ArchiveError as e:
        fail(e)


@users_app.command("create")
def users_create(
    username: str = typer.Option(..., help="登录名"),
    organisation_credit_code: str = typer.Option(..., help="所属单位的统一社会信用代码"),
    role: Role = typer.Option(Role.administrator, help="角色：" + "、".join(f"{r.value}（{r.label}）" for r in Role)),
    display_name: str = typer.Option("系统管理员", help="显示的姓名"),
    password: str = typer.Option(
        ...,
        prompt="密码",
        hide_input=True,
        # Typer types it bool; its click takes the text of the second prompt, which is then Chinese too.
        confirmation_prompt="再次输入密码",  # type: ignore[arg-type]
        help="密码（不写时在终端输入）",
    ),
    bureau_credit_code: str = typer.Option(
        "", help="社保经办机构、社区的查阅申请人：为其授权并主管该账户的档案馆的统一社会信用代码"
    ),
) -> None:
    """创建用户（通常是首位管理员）。"""
    from sqlalchemy import select

    from archive_service.access.log import AccessAction, record_access
    from archive_service.auth.service import create_user
    from archive_service.db import transaction
    from archive_service.errors import ArchiveError
    from archive_service.organisations.models import Organisation

    try:
        with transaction() as session:
            org = session.scalar(select(Organisation).where(Organisation.credit_code == organisation_credit_code))
            if org is None:
                raise ArchiveError("organisation.unknown", "未找到该统一社会信用代码的单位", "organisation_credit_code")
            user = create_user(
                session,
                username=username,
                display_name=display_name,
                password=password,
                role=role,
                organisation_id=org.id,
            )
            served = _serve_from(session, user, bureau_credit_code)
            record_access(  # the system's own event, for the auditor (GB/T 22239-2019 8.1.4.3)
                session, None, AccessAction.account_created, "命令行",
                detail=f"{user.username}（{display_name}，{role.label}，{org.name}）{served}", with_change=True,
            )  # fmt: skip
            typer.echo(f"用户 {user.id}：{user.username}（{role.label}），{org.name}")
    except ArchiveError as e:
        fail(e)


def _serve_from(session, user, bureau_credit_code: str) -> str:
    """A requester of an agency or community stands with the bureau named (its home, auth/standing.py); without
    one, no bureau serves the account until a bureau's security officer grants it."""
    from sqlalchemy import select

    from archive_service.auth.models import RequesterStanding
    from archive_service.auth.standing import is_served
    from archive_service.errors import ArchiveError
    from archive_service.organisations.models import Organisation, OrganisationKind

    if not bureau_credit_code:
        return "：尚无档案馆授权（须由档案馆安全管理员授权后方可登录）" if is_served(user) else ""
    if not is_served(user):
        raise ArchiveError(
            "bureau_credit_code.not_served", "只有社保经办机构、社区的查阅申请人需要指定档案馆", "bureau_credit_code"
        )
    bureau = session.scalar(
        select(Organisation).where(
            Organisation.credit_code == bureau_credit_code, Organisation.kind == OrganisationKind.bureau
        )
    )
    if bureau is None:
        raise ArchiveError("organisation.unknown", "未找到该统一社会信用代码的档案馆", "bureau_credit_code")
    session.add(RequesterStanding(user_id=user.id, bureau_id=bureau.id, active=True, home=True))
    session.flush()
    return f"：由{bureau.name}授权并主管"


def add_demo_scans() -> int:
    """`demo --with-scans`' second step, on the demo just loaded: two files digitised from drawn scans (OCR) with
    their two requests, and a digitised intake batch; the number of files after it. (The browser tests run it on
    a copy of a demo loaded once, instead of loading the demo again for the server that needs scans.)"""
    from sqlalchemy import func, select

    from archive_service.adapters import object_store
    from archive_service.config import get_settings
    from archive_service.db import transaction
    from archive_service.demo import DemoScans, digitise_demo_dossier, digitised_demo_batch
    from archive_service.dossiers.models import Dossier

    scans = DemoScans(object_store(), get_settings().digitise_work_dir)
    typer.echo("演示数据：正在生成扫描件并数字化两份档案和一个移交批次（文字识别，视机器快慢约需数分钟）…")
    with transaction() as session:
        code = digitise_demo_dossier(session, scans)
    typer.echo(f"演示数据：{code} 已数字化；其查阅申请一份待 approver 审批，一份已批准给 sibao")
    with transaction() as session:
        number = digitised_demo_batch(session, scans)
    typer.echo(f"演示数据：移交批次 {number} 已接收（附数字副本），待验收")
    with transaction() as session:  # the digitised batch brought files of its own
        return session.scalar(select(func.count(Dossier.id))) or 0


@app.command()
def demo(
    retirees: int = typer.Option(300, min=1, max=100_000, help="演示退休人员人数"),
    if_empty: bool = typer.Option(False, "--if-empty", help="系统已有用户时不做任何事（并正常退出）"),
    with_scans: bool = typer.Option(False, "--with-scans", help="另数字化两份档案和一个移交批次，并提交两份查阅申请"),
    in_background: bool = typer.Option(
        False,
        "--in-background",
        help="与 --with-scans 同用：扫描件作为后台数字化任务提交，由 archive serve 的任务进程完成（进度见后台任务页）",
    ),
) -> None:
    """向空系统载入演示数据。

    演示用的档案馆、移交单位、退休人员和用户。
    """
    from sqlalchemy import select

    from archive_service.auth.models import User
    from archive_service.db import transaction
    from archive_service.demo import DEMO_PASSWORD, load_demo

    with transaction() as session:
        if session.scalar(select(User.id).limit(1)) is not None:
            if if_empty:
                typer.echo("演示数据：系统已有用户，保持原样")
                return
            fail(Exception("系统已有用户；演示数据只能载入空系统"))
        counts = load_demo(session, retirees=retirees)
    if with_scans and in_background:
        from archive_service.jobs.models import JobKind
        from archive_service.jobs.queue import enqueue

        with transaction() as session:
            archivist = session.scalar(select(User).where(User.username == "archivist"))
            job = enqueue(session, JobKind.demo_scans, {}, actor=archivist)
        typer.echo(
            f"演示数据：扫描件在服务启动后于后台生成并数字化（任务 #{job.id}，再分为每份档案一个数字化任务），"
            "进度见“后台任务”页（archivist 或 admin 登录）；完成后 J102-RS-000001 可由 sibao 查阅，"
            "一个附数字副本的移交批次待验收"
        )
    elif with_scans:
        counts["dossiers"] = add_demo_scans()
    named = {"organisations": "单位", "users": "用户", "dossiers": "档案"}
    shown = "，".join(f"{named.get(what, what)} {n}" for what, n in counts.items())
    typer.echo(f"演示数据已载入：{shown}；所有演示用户的密码均为 {DEMO_PASSWORD}")
    typer.echo("西城区档案馆要求双因素登录：各演示用户的动态验证码密钥见 README（加入手机验证器即可）")

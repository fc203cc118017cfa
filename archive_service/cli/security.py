"""The level-3 controls from the command line: the assessor's list of controls (`security report`, with an .xlsx
export) and rotation of the data key (`keys rotate`)."""

from pathlib import Path

import typer

from archive_service.cli.common import fail

app = typer.Typer()
security_app = typer.Typer(help="安全控制（等级保护第三级）", no_args_is_help=True)
keys_app = typer.Typer(help="数据加密密钥", no_args_is_help=True)
app.add_typer(security_app, name="security")
app.add_typer(keys_app, name="keys")


@security_app.command("report")
def security_report(
    fonds: str = typer.Option("", "--bureau", help="档案馆的全宗号（如 J102）；不写时列出每个档案馆"),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="另存为 .xlsx 状态表（只能用于一个档案馆）"),
) -> None:
    """列出各项安全控制、本馆的设置和当前状态；有“需处理”的项时以状态 1 退出。"""
    from sqlalchemy import select

    from archive_service.access.log import AccessAction, record_access
    from archive_service.auth import controls
    from archive_service.db import get_sessionmaker
    from archive_service.errors import ArchiveError
    from archive_service.organisations.models import Organisation, OrganisationKind

    with get_sessionmaker()() as session:
        query = select(Organisation).where(Organisation.kind == OrganisationKind.bureau).order_by(Organisation.id)
        if fonds:
            query = query.where(Organisation.fonds_code == fonds.strip().upper())
        bureaus = session.scalars(query).all()
        if not bureaus:
            fail(
                ArchiveError(
                    "bureau.unknown", f"没有全宗号为 {fonds} 的档案馆" if fonds else "系统中还没有档案馆", "bureau"
                )
            )
        if xlsx is not None and len(bureaus) != 1:
            fail(ArchiveError("bureau.required", "导出 .xlsx 时请用 --bureau 指定一个档案馆", "bureau"))
        short = False
        for bureau in bureaus:
            found = controls.controls(session, bureau)
            typer.secho(f"{bureau.name}（{bureau.fonds_code}）", bold=True)
            for c in found:
                mark = "满足  " if c.ok else "需处理"
                typer.secho(f"  [{mark}] {c.area} · {c.name}（{c.clause}）", fg=None if c.ok else typer.colors.YELLOW)
                typer.echo(f"           设置：{c.setting}")
                typer.echo(f"           状态：{c.state}")
                short = short or not c.ok
            if xlsx is not None:
                xlsx.write_bytes(controls.controls_xlsx(bureau, found))
                record_access(session, None, AccessAction.export, "命令行", detail=f"导出安全控制状态表：{bureau.name}")
                typer.echo(f"已导出：{xlsx}")
    if short:
        raise typer.Exit(1)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """轮换数据加密密钥：生成新密钥并追加到密钥文件，所有加密字段在一个事务中改用新密钥，旧密钥停用（请先停止服务）。"""
    from archive_service import protection
    from archive_service.access.log import AccessAction, record_access
    from archive_service.db import Base, get_engine, get_sessionmaker

    try:
        key, written = protection.rotate(get_engine(), Base.metadata.sorted_tables)
    except protection.DataKeyError as e:
        fail(e)
    with get_sessionmaker()() as session:
        record_access(
            session, None, AccessAction.policy_changed, "命令行",
            detail=f"数据加密密钥轮换：启用新密钥 {key.key_id}，{written} 个加密值已改用新密钥，旧密钥停用",
        )  # fmt: skip
    typer.echo(f"已启用新密钥 {key.key_id}：{written} 个加密值已改用新密钥")
    typer.echo(f"旧密钥已停用，可从 {protection.key_file()} 中删除")

"""Checking the evidence: the access log's hash chain, and a printed receipt against its manifest."""

from pathlib import Path

import typer

from archive_service.cli.common import fail
from digitise.chinese import reason

app = typer.Typer()
audit_app = typer.Typer(help="利用登记", no_args_is_help=True)
transfers_app = typer.Typer(help="移交批次", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(transfers_app, name="transfers")


@audit_app.command("verify")
def audit_verify() -> None:
    """沿哈希链逐条核验利用登记；有条目被改动、删除或插入时指出第一处并以状态 1 退出。"""
    from archive_service.access.log import verify_and_record
    from archive_service.db import get_sessionmaker

    with get_sessionmaker()() as session:
        report = verify_and_record(session, None, "命令行")
    if report.ok:
        typer.echo(f"利用登记完好：{report.entries} 条，哈希链核验通过")
        return
    typer.secho(
        f"利用登记在序号 {report.broken_seq}（id {report.broken_id}）处断裂：{report.reason}；"
        f"此前 {report.entries} 条核验通过",
        fg=typer.colors.RED,
        err=True,
    )
    raise typer.Exit(1)


@transfers_app.command("verify-receipt")
def transfers_verify_receipt(receipt: Path = typer.Argument(..., metavar="交接书", help="交接书 PDF")) -> None:
    """重新计算交接书所附清单的摘要（并与本系统对该批次的记录比对）。"""
    from archive_service.db import get_sessionmaker
    from archive_service.transfers.service import verify_receipt

    try:
        data = receipt.read_bytes()
    except OSError as e:
        fail(Exception(f"无法读取 {receipt}：{reason(e)}"))
    with get_sessionmaker()() as session:
        check = verify_receipt(session, data)
    typer.echo(f"批次：{check.number}")
    typer.echo(f"交接书所载摘要：{check.printed}")
    typer.echo(f"附件清单摘要：  {check.computed}")
    for problem in check.problems:
        typer.secho(f"✗ {problem}", fg=typer.colors.RED)
    if not check.ok:
        raise typer.Exit(1)
    typer.secho("✓ 交接书与清单一致", fg=typer.colors.GREEN)

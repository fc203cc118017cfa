"""存量档案导入 from the terminal: a ledger checked and saved with a progress bar, as the page does it."""

import json
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="存量档案导入（原电子台账）", no_args_is_help=True)

MAPPING_HELP = (
    '列对应与导入选项（JSON）：{"columns": {"姓名": "C" 或表头文字, …}, "sheets": {"工作表名": {"room": "库房", '
    '"skip": false}}, "renumber": true, "enterprises": {"台账中的企业名": "已登记企业的名称或统一社会信用代码"}, '
    '"create_shelving": true, "layer_capacity": 26, "room_areas": {"三号库房": 120}}；不给则按表头文字或已保存的对应'
)


@app.command("import")
def import_ledger(
    ledger_file: Path = typer.Argument(..., exists=True, dir_okay=False, metavar="台账", help=".xlsx、.xls 或 .csv"),
    username: str = typer.Option(..., "--username", help="以此账户导入（档案管理员或系统管理员）"),
    mapping: Path | None = typer.Option(None, "--mapping", exists=True, dir_okay=False, help=MAPPING_HELP),
    good_rows_only: bool = typer.Option(False, "--good-rows-only", help="只导入无问题的行（默认：有任何问题则不导入）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只检查，不导入"),
    rejected: Path | None = typer.Option(
        None, "--rejected", dir_okay=False, help="把有问题的行（含“问题”列）写入此 .xlsx"
    ),
) -> None:
    """检查并导入一份存量档案台账；逐行列出问题，导入后检索立即可查。有问题未导入时以状态 1 退出。"""
    from archive_service.adapters import search_index
    from archive_service.cli.common import acting_user, fail
    from archive_service.db import get_engine, transaction
    from archive_service.errors import ArchiveError
    from archive_service.finding.worker import apply_outbox
    from archive_service.holdings import checking, saving, service
    from archive_service.workbooks import column_letters

    try:
        options = json.loads(mapping.read_text(encoding="utf-8")) if mapping else {}
    except (OSError, ValueError) as e:
        fail(ArchiveError("mapping.file", f"无法读取列对应文件 {mapping}：{e}", "mapping"))
    try:
        with transaction() as session:
            user = acting_user(session, username)
            imported = service.start_import(session, user, ledger_file.read_bytes(), ledger_file.name)
            _apply(session, user, imported, options)
            import_id, total = imported.id, checking.total_rows(imported)
            for sheet in imported.sheets:
                shown = "、".join(
                    f"{service.ledger.FIELDS[k].label}={column_letters(i + 1)}" for k, i in sheet["mapping"].items()
                )
                typer.echo(
                    f"工作表“{sheet['name']}”："
                    + ("不导入" if sheet.get("skip") else f"表头第 {sheet.get('header_row')} 行；{shown}")
                )
        bar = _bar(total, "检查")
        with bar, transaction() as session:
            summary = checking.check_import(
                session, import_id, lambda done, _t: bar.update(bar.task_ids[0], completed=done)
            )
        _report(summary, import_id)
        if rejected and summary["rejected"]:
            with transaction() as session:
                rejected.write_bytes(service.rejected_workbook(session, acting_user(session, username), import_id))
            typer.echo(f"有问题的行已写入 {rejected}")
        if dry_run:
            raise typer.Exit(1 if summary["rejected"] else 0)
        with transaction() as session:
            service.request_save(session, acting_user(session, username), import_id, good_rows_only)
            session.rollback()  # the CLI saves in this process, not through a job
        bar = _bar(2 * total, "导入")  # checked again, then written
        with bar, transaction() as session:
            saved = saving.save_import(
                session, acting_user(session, username), import_id, good_rows_only=good_rows_only,
                client="命令行", progress=lambda done, _t: bar.update(bar.task_ids[0], completed=done),
            )  # fmt: skip
        if saved.get("refused"):
            typer.secho(
                f"有 {saved['problems']} 处问题，未导入任何档案（可加 --good-rows-only 只导入无问题的行）", err=True
            )
            raise typer.Exit(1)
        applied = apply_outbox(get_engine(), search_index(), wait=True, batch=2000)
        typer.echo(f"已导入 {saved['saved']} 份档案（导入 #{import_id}），检索索引已更新 {applied} 份")
        if saved["saved"] < saved["rows"]:
            where = f"，见 {rejected}" if rejected else "（可用 --rejected 取得这些行）"
            typer.echo(f"另有 {saved['rows'] - saved['saved']} 行有问题未导入{where}")
            raise typer.Exit(1)
    except ArchiveError as e:
        fail(e)


def _bar(total: int, label: str) -> Any:
    """Rows checked or saved of the ledger's rows, with the time so far."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(f"{label}（行）", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    bar.add_task(label, total=total)
    return bar


def _column(value: Any, columns: list[str]) -> int:
    from archive_service.errors import ArchiveError

    text = str(value).strip()
    if text in columns:
        return columns.index(text)
    if text.isascii() and text.isalpha():
        index = 0
        for c in text.upper():
            index = index * 26 + ord(c) - 64
        if 1 <= index <= len(columns):
            return index - 1
    raise ArchiveError("mapping.column", f"列对应中的“{text}”既不是表头文字也不是表中的列字母", "mapping")


def _apply(session: Any, user: Any, imported: Any, options: dict[str, Any]) -> None:
    """The mapping file: columns for every sheet (by header text or letter), per-sheet room or skip, choices."""
    from sqlalchemy import or_, select

    from archive_service.errors import ArchiveError
    from archive_service.holdings import ledger, service
    from archive_service.holdings.decisions import Decisions
    from archive_service.organisations.models import Organisation, OrganisationKind

    labels = {f.label: key for key, f in ledger.FIELDS.items()}
    for index, sheet in enumerate(imported.sheets):
        per_sheet = options.get("sheets", {}).get(sheet["name"], {})
        if not sheet.get("columns"):
            continue
        columns = options.get("columns")
        mapping = sheet["mapping"]
        if columns:
            unknown = [k for k in columns if k not in labels]
            if unknown:
                raise ArchiveError("mapping.field", f"列对应中的字段“{'、'.join(unknown)}”不存在", "mapping")
            mapping = {labels[k]: _column(v, sheet["columns"]) for k, v in columns.items() if v not in (None, "")}
        if columns or per_sheet:
            service.set_mapping(
                session, user, imported.id, index, mapping, room=per_sheet.get("room", sheet.get("room", "")),
                skip=bool(per_sheet.get("skip")), remember=bool(columns),
            )  # fmt: skip
    enterprises = {}
    for name, which in options.get("enterprises", {}).items():
        found = session.scalar(
            select(Organisation.id).where(
                Organisation.kind == OrganisationKind.enterprise,
                or_(Organisation.name == which, Organisation.credit_code == str(which).upper()),
            )
        )
        if found is None:
            raise ArchiveError("enterprises.unknown", f"“{name}”要对应的企业“{which}”未登记", "enterprises")
        enterprises[name] = found
    service.decide(
        session, user, imported.id,
        Decisions(
            renumber=bool(options.get("renumber")), enterprises=enterprises,
            create_shelving=bool(options.get("create_shelving")), layer_capacity=options.get("layer_capacity"),
            room_areas={k: v for k, v in options.get("room_areas", {}).items()},
        ),
    )  # fmt: skip


def _report(summary: dict[str, Any], import_id: int) -> None:
    from archive_service.db import transaction
    from archive_service.holdings.models import HoldingsImport
    from archive_service.holdings.service import problems_of

    typer.echo(
        f"共 {summary['rows']} 行：无问题 {summary['good']} 行，"
        f"有问题 {summary['rejected']} 行（{summary['problems']} 处）；"
        f"15 位身份证号升位 {summary.get('ids_upgraded', 0)}，待补录身份证号 {summary.get('ids_missing', 0)}，"
        f"待上架 {summary.get('unshelved', 0)}"
    )
    for name, u in summary.get("unknown_enterprises", {}).items():
        hint = f"（可能是“{u['suggestion']['name']}”）" if u.get("suggestion") else ""
        typer.echo(f"未登记的企业：{name}，{u['rows']} 行{hint}")
    with transaction() as session:
        imported = session.get(HoldingsImport, import_id)
        assert imported is not None
        for p in problems_of(session, imported, limit=20):
            typer.echo(f"  “{p.sheet}”第 {p.row} 行「{p.column}」{'提示：' if not p.blocking else ''}{p.message}")
    if summary["problems"] + summary.get("notes", 0) > 20:
        typer.echo("  …（用 --rejected 文件.xlsx 取得全部有问题的行）")

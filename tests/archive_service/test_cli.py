"""The operators' commands read Chinese: every command, group and option of `archive` says what it does in
Chinese, and both `archive` and `digitise` print their help pages and usage errors with no English word of
Typer's or click's (digitise/terminal.py). Latin words allowed are the commands' own: names, option names,
defaults and what our own help texts write in Latin letters (PDF, Tesseract …)."""

import os
import re
import socket
import subprocess
import sys
import uuid

import psycopg
import pytest
import typer.main

from archive_service.cli import app
from archive_service.cli import app as archive
from digitise.cli import app as digitise
from digitise.terminal import ChineseTyper
from tests.conftest import PG_ADMIN_URL, _pg_base

HAN = re.compile(r"[\u4e00-\u9fff]")


def _commands(command, path: str = "archive"):  # type: ignore[no-untyped-def]
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():  # a group (Typer's own click, not click's)
        yield from _commands(sub, f"{path} {name}")


def test_every_command_and_option_is_described_in_chinese():
    root = typer.main.get_command(app)
    seen = list(_commands(root))
    assert len(seen) > 25  # groups and commands were walked
    undescribed = []
    for path, command in seen:
        if not HAN.search(command.help or ""):
            undescribed.append(path)
        for param in command.params:
            text = getattr(param, "help", None) or ""
            if param.name not in ("help",) and not HAN.search(text):
                undescribed.append(f"{path} {param.opts[0] if param.opts else param.name}")
    assert undescribed == []


WORD = re.compile(r"[A-Za-z]{2,}")
OPTION = re.compile(r"--?[A-Za-z][\w-]*")


def _pages(app: ChineseTyper, name: str) -> list[tuple[list[str], set[str]]]:
    """Every command path of the app, with the Latin words its own texts use."""
    found = []

    def walk(command, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        subcommands = getattr(command, "commands", {})
        listed = [f"{name} {sub.help or ''}" for name, sub in subcommands.items()]  # a group lists its commands
        own = set(WORD.findall(" ".join([command.help or "", *path, *listed])))
        for param in command.params:
            own |= set(WORD.findall(f"{param.help or ''} {param.default if param.default is not None else ''}"))
        found.append((path, own))
        for sub_name, sub in subcommands.items():
            walk(sub, [*path, sub_name])

    walk(typer.main.get_command(app), [])
    return found


def _run(app: ChineseTyper, args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as ended:
        app(args, prog_name="archive" if app is archive else "digitise")
    out = capsys.readouterr()
    return ended.value.code or 0, out.out + out.err  # type: ignore[return-value]


def _foreign(text: str, own: set[str]) -> set[str]:
    return set(WORD.findall(OPTION.sub(" ", text))) - own - {"archive", "digitise"}


@pytest.mark.parametrize("app,name", [(archive, "archive"), (digitise, "digitise")])
def test_every_help_page_reads_chinese(app, name, capsys):
    pages = _pages(app, name)
    assert len(pages) > (25 if name == "archive" else 0)
    for path, own in pages:
        status, text = _run(app, [*path, "--help"], capsys)
        assert status == 0, (path, text)
        assert "用法：" in text and "显示本帮助并退出。" in text, (path, text)
        assert _foreign(text, own) == set(), (path, text)


@pytest.mark.parametrize(
    "app,args,says",
    [
        (archive, [], "命令"),  # no arguments: the help
        (archive, ["nosuch"], "没有命令 nosuch"),
        (archive, ["db", "upgrade", "--bogus"], "没有选项 --bogus"),
        (archive, ["serve", "--port", "abc"], "选项 --port 的值“abc”应为整数"),
        (
            archive,
            [
                "users",
                "create",
                "--username",
                "a",
                "--organisation-credit-code",
                "x",
                "--password",
                "p",
                "--role",
                "boss",
            ],
            "选项 --role 的值“boss”不是可选值之一",
        ),  # fmt: skip
        (archive, ["users", "create", "--username", "a"], "缺少选项 --organisation-credit-code"),
        (archive, ["backup"], "缺少参数 备份目录"),
        (archive, ["backup", "/tmp/a", "extra"], "多余的参数：extra"),
        (
            archive,
            ["transfers", "verify-receipt", "/nonexistent/receipt.pdf"],
            "无法读取 /nonexistent/receipt.pdf：不存在",
        ),
        (digitise, [], "缺少参数 扫描件"),
        (digitise, ["a.png", "-o", "b.pdf", "--jobs", "0"], "选项 --jobs 的值“0”应不小于 1"),
        (digitise, ["a.png", "-o"], "选项 -o 后面缺少值"),
        (digitise, ["a.png", "-o", "b.pdf", "--jbos", "2"], "没有选项 --jbos，可能是 --jobs"),
    ],
)
def test_usage_errors_read_chinese(app, args, says, capsys):
    status, text = _run(app, args, capsys)
    assert status == 2, text
    assert says in text, text
    own = set().union(*(words for _path, words in _pages(app, "")))
    assert _foreign(text, own | set(WORD.findall(" ".join(args)))) == set(), text


def test_serve_on_a_taken_port_says_so_in_chinese_before_starting_anything(capsys):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        status, text = _run(archive, ["serve", "--host", "127.0.0.1", "--port", str(port)], capsys)
    assert status == 2
    assert f"无法在 127.0.0.1:{port} 监听：端口已被占用" in text and _foreign(text, {"port", "taken"}) == set(), text


def _archive_process(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    settings = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    return subprocess.run(
        [sys.executable, "-m", "archive_service.cli", *args], env={**settings, **env}, capture_output=True, text=True
    )


def test_a_database_that_cannot_be_used_is_named_with_what_to_do_not_a_traceback(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    refused = _archive_process(
        ["db", "upgrade"], ARCHIVE_DATABASE_URL=f"postgresql+psycopg://u:secret@127.0.0.1:{port}/x"
    )
    assert refused.returncode == 1
    assert f"无法使用数据库 postgresql+psycopg://u:***@127.0.0.1:{port}/x：连接被拒绝" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr and "secret" not in refused.stderr, refused.stderr

    name = f"archive_test_{uuid.uuid4().hex[:12]}"  # a PostgreSQL database nobody has migrated yet
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        for url in (f"{_pg_base()}/{name}", f"sqlite:///{tmp_path}/archive.db"):
            empty = _archive_process(["search", "verify"], ARCHIVE_DATABASE_URL=url, ARCHIVE_VAR_DIR=str(tmp_path))
            assert empty.returncode == 1 and "尚未建立表结构：请先运行 archive db upgrade" in empty.stderr, empty.stderr
            assert "Traceback" not in empty.stderr, empty.stderr
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

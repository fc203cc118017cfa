"""Both commands (`archive`, `digitise`) at the terminal in Chinese, Typer's own words included.

Typer has no translations: it prints its help panels, usage line and usage errors in English, partly as
module constants, partly written into the click it carries. `ChineseTyper` is a Typer whose help and errors
read Chinese: it sets the panel titles, names each parameter's type in Chinese and prints usage errors
itself. Option names stay as typed. These hooks are Typer's internals (the lock file pins Typer);
tests/archive_service/test_cli.py runs every help page and each kind of usage error and fails on an English
word, so an upgrade that moves them is caught."""

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, get_args

import typer
import typer.main
import typer.rich_utils
from typer._click import exceptions as click_errors
from typer._click.core import Command
from typer._click.formatting import HelpFormatter

from digitise.chinese import RULES

_TYPE_NAMES = {"int": "整数", "float": "数", "str": "文本", "Path": "路径", "date": "日期", "datetime": "日期时间"}

# Typer's own words, where it keeps them as module constants (typer/rich_utils.py).
_PANEL_WORDS = {
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "查看帮助：{command_path} {help_option}",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "DEPRECATED_STRING": "（已停用）",
}


class _Formatter(HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)


class _Context(typer.Context):
    formatter_class = _Formatter


class ChineseTyper(typer.Typer):
    """A Typer app whose help and usage errors an operator reads in Chinese. `failures` says, for an exception
    a command may meet that is no fault of the program (the database is down), what to tell the operator
    instead of a traceback (None: it is a fault, show the traceback)."""

    def __init__(self, *, failures: dict[type[Exception], Callable[[Exception], str | None]] | None = None, **kw: Any):
        super().__init__(**kw)
        self.failures = failures or {}

    def __call__(self, args: list[str] | None = None, prog_name: str | None = None) -> NoReturn:
        for name, words in _PANEL_WORDS.items():
            setattr(typer.rich_utils, name, words)
        command = typer.main.get_command(self)
        _localise(command)
        try:
            done = command.main(args=args, prog_name=prog_name, standalone_mode=False)
        except click_errors.NoArgsIsHelpError as error:  # the help is printed as the error is made
            sys.exit(error.exit_code)
        except click_errors.ClickException as error:
            ctx = getattr(error, "ctx", None)
            if ctx is not None:
                typer.echo(ctx.get_usage(), err=True)
            typer.secho(f"错误：{usage_error(error)}", fg=typer.colors.RED, err=True)
            if ctx is not None:
                typer.echo(f"查看帮助：{ctx.command_path} --help", err=True)
            sys.exit(error.exit_code)
        except typer.Abort:
            typer.secho("已中止。", fg=typer.colors.RED, err=True)
            sys.exit(1)
        except tuple(self.failures) as error:
            said = next(say for kind, say in self.failures.items() if isinstance(error, kind))(error)
            if said is None:  # a fault of the program after all: its traceback is what an engineer needs
                raise
            typer.secho(f"错误：{said}", fg=typer.colors.RED, err=True)
            sys.exit(1)
        sys.exit(done if isinstance(done, int) else 0)  # without standalone mode, typer.Exit(n) comes back as n


def _localise(command: Command) -> None:
    """Chinese words where Typer would print its own: usage placeholders, --help, each parameter's type."""
    command.context_class = _Context
    command.options_metavar = "[选项]"
    if hasattr(command, "subcommand_metavar"):
        command.subcommand_metavar = "命令 [参数]..."
    help_option = command.get_help_option(_Context(command))
    if help_option is not None:
        help_option.help = "显示本帮助并退出。"
    for param in command.params + ([help_option] if help_option else []):
        # The type column of the help page; an instance attribute, because Typer prints
        # display_type_rich() and lets an argument's metavar rename only the argument.
        param.display_type_rich = lambda ctx, named=_type_name(param): named  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        _localise(sub)


def _type_name(param: Any) -> str | None:
    if getattr(param, "is_flag", False):
        return None  # a switch takes no value
    described = param.type_descriptor
    if described.is_choice:
        return "可选值"  # the choices are listed in the option's help
    annotation = described.annotation
    many = described.is_list
    if many:
        annotation = get_args(annotation)[0]
    name = _TYPE_NAMES.get("Path" if described.is_path or annotation is Path else getattr(annotation, "__name__", ""))
    return f"{name or '值'}{'…' if many else ''}"


def _named(param: Any) -> str:
    if param is None:
        return "参数"
    if param.param_type_name == "argument":
        return f"参数 {param.display_name_raw}"
    return f"选项 {max(param.opts, key=len)}"


def usage_error(error: click_errors.ClickException) -> str:
    """The Chinese for each kind of usage error Typer and its click raise."""
    message = error.message
    if isinstance(error, click_errors.MissingParameter):
        return f"缺少{_named(error.param)}"
    if isinstance(error, click_errors.BadParameter):
        return f"{_named(error.param)}{_why_bad(error)}"
    if isinstance(error, click_errors.NoSuchOption):
        maybe = f"，可能是 {'、'.join(sorted(error.possibilities))}" if error.possibilities else ""
        return f"没有选项 {error.option_name}{maybe}"
    if isinstance(error, click_errors.BadOptionUsage):
        if "does not take a value" in message:
            return f"选项 {error.option_name} 不带值"
        return f"选项 {error.option_name} 后面缺少值"
    if isinstance(error, click_errors.FileError):
        return f"无法打开文件 {error.ui_filename}"
    if found := re.match(r"No such command '(.*)'", message):
        return f"没有命令 {found[1]}"
    if message.startswith("Missing command"):
        return "缺少命令"
    if found := re.match(r"Got unexpected extra argument(?:\(s\)|s)? \((.*)\)", message):
        return f"多余的参数：{found[1]}"
    return "命令的写法不对"


def _why_bad(error: click_errors.BadParameter) -> str:
    cause = error.__cause__
    if cause is not None and hasattr(cause, "errors"):  # pydantic checked the value
        first = cause.errors()[0]
        rule, bounds = first["type"], first.get("ctx") or {}
        said = RULES.get(rule, "不符合要求")
        if error.param is not None and error.param.type_descriptor.is_choice:
            said = "不是可选值之一（可选值见 --help）"
        for bound, words in (("ge", "应不小于"), ("gt", "应大于"), ("le", "应不大于"), ("lt", "应小于")):
            if bound in bounds:
                said = f"{words} {bounds[bound]}"
        return f" 的值“{first.get('input')}”{said}"
    for english, chinese in (
        ("does not exist", "不存在"),
        ("is a file", "是文件，应为目录"),
        ("is a directory", "是目录，应为文件"),
        ("is not readable", "不可读"),
        ("is not writable", "不可写"),
    ):
        if english in error.message:
            named = re.search(r"'(.*)'", error.message)
            return f"：{named[1] + ' ' if named else ''}{chinese}"
    return " 的值不符合要求"

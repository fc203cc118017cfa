"""The operator's command reads Chinese: every command, group and option says what it does in Chinese."""

import re

import typer.main

from archive_service.cli import app

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

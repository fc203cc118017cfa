"""One error shape for the whole service: {"code", "message", "field"}.

`code` is a stable English identifier for programs, `message` is Simplified Chinese for the
people at the counter, `field` names the input that broke the rule (null when none does).
"""

from dataclasses import dataclass
from typing import Any


@dataclass
class ArchiveError(Exception):
    code: str
    message: str
    field: str | None = None
    status: int = 400
    # Every problem of an upload at once (a register's rows): [{"row", "column", "code", "message"}].
    problems: list[dict[str, Any]] | None = None

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.code}{where}: {self.message}"

    @classmethod
    def listing(
        cls, code: str, what: str, problems: list[dict[str, Any]], field: str, unit: str = "行"
    ) -> "ArchiveError":
        """Every problem of an upload or a list at once (each with row, column and message); nothing saved."""
        return cls(
            code,
            f"{what}有 {len(problems)} 处问题，未保存任何内容："
            + "；".join(f"第 {p['row']} {unit}「{p['column']}」{p['message']}" for p in problems[:5])
            + ("…" if len(problems) > 5 else ""),
            field,
            422,
            problems=problems,
        )

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        if self.problems is not None:
            body["problems"] = self.problems
        return body


class NotFound(ArchiveError):
    def __init__(self, what: str, field: str | None = None) -> None:
        # Also used for records of another bureau: their existence is not disclosed.
        super().__init__("not_found", f"未找到{what}", field, 404)


class Forbidden(ArchiveError):
    def __init__(self, message: str = "当前角色无权执行此操作") -> None:
        super().__init__("forbidden", message, None, 403)


class Unauthenticated(ArchiveError):
    def __init__(self, message: str = "请先登录") -> None:
        super().__init__("unauthenticated", message, None, 401)

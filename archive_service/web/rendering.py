"""What every page module renders with: the templates (their globals, the bureau-time filter), the
form-field readers that refuse by the field's name, and the page of a refusal met away from its form."""

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError

from archive_service.auth import service as auth_service
from archive_service.auth.permissions import Action, can
from archive_service.db import get_sessionmaker, show_time
from archive_service.deps import (
    request_token,
)
from archive_service.dossiers.class_schemes import TOP_CLASS_NAMES
from archive_service.errors import ArchiveError
from archive_service.organisations.enterprises import FINANCIAL_BASIS
from archive_service.values import mask_citizen_id, written_partial_date, yuan_of, yuan_text
from archive_service.web.forms import field_label, submitted
from archive_service.web.menu import menu
from digitise.findings import check_name

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals.update(
    can=lambda user, action: can(user, Action(action)),  # a page offers only what the role may do
    menu=menu,
    citizen_id_shown=lambda user, value: value if can(user, Action.see_full_citizen_id) else mask_citizen_id(value),
    TOP_CLASS_NAMES=TOP_CLASS_NAMES,
    mask_citizen_id=mask_citizen_id,
    check_name=check_name,
    submitted=submitted,
    field_label=field_label,
    FINANCIAL_BASIS=FINANCIAL_BASIS,  # 金融企业: what the flag means, on the enterprise and batch pages
    yuan=yuan_text,  # 1,020.00: an amount kept in 分, as a page writes it in 元
    yuan_plain=lambda fen: f"{yuan_of(fen)}",  # 1020.00: as a form field takes it back
)
# Times are stored in UTC and shown in the bureau's time zone: every page through this one filter.
templates.env.filters["bureau_time"] = lambda at, fmt="%Y-%m-%d %H:%M:%S": show_time(at, fmt)
# 材料形成时间 as catalogues print it: 1985.10.06, 1984.06 or 1998.
templates.env.filters["partial_date"] = written_partial_date


def form_number(text: str, field: str, kind: type = Decimal) -> Any:
    """A number typed into a form field; empty means not given. Refused with the field's name."""
    try:
        value = kind(text.strip()) if text.strip() else None
    except (ValueError, InvalidOperation):
        raise ArchiveError(f"{field}.number", f"“{text}”不是数字", field, 422) from None
    if isinstance(value, Decimal) and not value.is_finite():  # NaN, Infinity: read by Decimal, not numbers
        raise ArchiveError(f"{field}.number", f"“{text}”不是数字", field, 422)
    return value


def form_choice(text: str, field: str, what: str) -> int:
    """The id picked in a select whose first option is "请选择…": nothing picked is refused by name, so a
    batch is never registered to whichever enterprise happened to be listed first."""
    if not text.strip():
        raise ArchiveError(f"{field}.required", f"请选择{what}", field, 422)
    return form_number(text, field, int)


def form_date(text: str, field: str) -> date:
    """A date typed into a form field (YYYY-MM-DD, as date inputs send it); refused with the field's name."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ArchiveError(f"{field}.date", f"“{text}”不是日期，请按 年-月-日 填写", field, 422) from None


def render_error(request: Request, error: ArchiveError) -> HTMLResponse:
    """The page of a refusal met away from its form, with the signed-in person's menu to go on from.
    Blocking (it reads the session): async callers run it in the thread pool."""
    token = request_token(request)
    with get_sessionmaker()() as session:
        try:
            user = auth_service.user_for_token(session, token) if token else None
        except SQLAlchemyError:  # the database may be what failed: the page still says what happened
            user = None
        # Rendered inside the session: the menu reads the user's organisation.
        return templates.TemplateResponse(
            request, "error.html", {"error": error, "user": user}, status_code=error.status
        )

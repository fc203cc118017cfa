"""What a person typed, kept when a page is shown again after a refused form.

One rule for every page: a router dependency keeps the submitted text fields on the request,
and templates fill each field through `submitted(action)` — the typed value when this page answers
that form, the page's usual default otherwise. A page with several forms only refills the one that
was sent (the form's action is the key), so a value never jumps into a neighbouring form.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from jinja2 import pass_context
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from archive_service.errors import ArchiveError
from archive_service.values import ValueRuleError, check_visible


class PageRefused(Exception):
    """A refused form's page, already rendered; the app answers with it (app.py)."""

    def __init__(self, response: Response) -> None:
        self.response = response


@contextmanager
def refusal_shows(session: Session, page: Callable[[ArchiveError], Response]) -> Iterator[None]:
    """Run a form's service calls; when a rule refuses them, undo everything and answer with `page(error)`:
    the same page again with the error beside the form and what was typed kept. Every page form does this.

        with refusal_shows(session, lambda error: _list_page(request, session, user, error)):
            batch = service.import_register(...)
        return RedirectResponse(...)
    """
    try:
        refuse_invisible_text()
        yield
    except ArchiveError as error:
        session.rollback()
        raise PageRefused(page(error)) from None


# A page form's field that holds a character nobody can see (values.check_visible), found when the form is
# read (keep_submitted_form) and refused where every page form meets its refusals — the page comes back with
# the field named and everything typed kept. Set per request, in the request's own context.
_invisible_field: ContextVar[ArchiveError | None] = ContextVar("invisible_field", default=None)


def refuse_invisible_text() -> None:
    error = _invisible_field.get()
    if error is not None:
        raise error


async def keep_submitted_form(request: Request) -> None:
    """Router dependency: remembers the text fields of a POSTed form (files are never kept)."""
    if request.method != "POST":
        return
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return
    form = await request.form()  # parsed once: FastAPI's Form parameters read the same cached form
    typed = {key: [v for v in form.getlist(key) if not isinstance(v, UploadFile)] for key in form.keys()}
    request.state.submitted_form = (request.url.path, typed)
    _invisible_field.set(None)
    for key, values in typed.items():
        for value in values:
            try:
                check_visible(value)
            except ValueRuleError as e:
                _invisible_field.set(ArchiveError(e.code, e.message, key, 422))
                return


class Submitted:
    """A form's values as sent, or the page's defaults when this page does not answer that form."""

    def __init__(self, values: dict[str, list[str]] | None) -> None:
        self._values = values

    def __bool__(self) -> bool:
        return self._values is not None

    def get(self, name: str, default: Any = "") -> Any:
        if self._values is None or name not in self._values:
            return "" if default is None else default
        return self._values[name][0] if self._values[name] else ""

    def selected(self, name: str, value: Any, default: Any = None) -> str:
        """' selected' for the option that was chosen (or, on a fresh page, the default one)."""
        chosen = self.get(name, default) if self._values is not None else default
        return " selected" if chosen is not None and str(chosen) == str(value) else ""

    def checked(self, name: str, value: Any, default: bool = False) -> str:
        if self._values is None:
            return " checked" if default else ""
        return " checked" if str(value) in self._values.get(name, []) else ""


@pass_context
def submitted(context: Any, action: str) -> Submitted:
    """The values sent to `action` if this page is its answer; otherwise an empty `Submitted`."""
    request = context.get("request")
    kept = getattr(request.state, "submitted_form", None) if request is not None else None
    if kept is None or kept[0] != action:
        return Submitted(None)
    return Submitted(kept[1])

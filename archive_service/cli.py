"""The `archive` command: database, users, demo data and the server."""

import logging

import typer

from archive_service.auth.models import Role

app = typer.Typer(help="退休人员人事档案托管系统 — archive custody", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
users_app = typer.Typer(help="User accounts", no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(orgs_app, name="orgs")


def _fail(error: Exception) -> None:
    typer.secho(f"错误 / error: {error}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration and synchronise reference data (class schemes)."""
    from archive_service.db import get_engine
    from archive_service.migrate import upgrade

    upgrade(get_engine())
    typer.echo(f"database at head: {get_engine().url.render_as_string(hide_password=True)}")


@orgs_app.command("create")
def orgs_create(
    name: str = typer.Option(...), kind: str = typer.Option("bureau"), credit_code: str = typer.Option(...),
    region_code: str = typer.Option(...), level: str = typer.Option("district"),
    fonds_code: str | None = typer.Option(None, help="全宗号 (bureaus)"),
) -> None:
    """Register an organisation (e.g. the bureau itself before its first administrator)."""
    from pydantic import ValidationError

    from archive_service.db import transaction
    from archive_service.errors import ArchiveError
    from archive_service.organisations.schemas import OrganisationIn
    from archive_service.organisations.service import create_organisation

    try:
        data = OrganisationIn(name=name, kind=kind, credit_code=credit_code, region_code=region_code,  # type: ignore[arg-type]
                              level=level, fonds_code=fonds_code)  # type: ignore[arg-type]
        with transaction() as session:
            org = create_organisation(session, data)
            typer.echo(f"organisation {org.id}: {org.name}")
    except ValidationError as e:
        first = e.errors()[0]
        _fail(Exception(f"{'.'.join(map(str, first['loc']))}: {first['msg']}"))
    except ArchiveError as e:
        _fail(e)


@users_app.command("create")
def users_create(
    username: str = typer.Option(...),
    organisation_credit_code: str = typer.Option(..., help="统一社会信用代码 of the user's organisation"),
    role: Role = typer.Option(Role.administrator),
    display_name: str = typer.Option("系统管理员"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user (the first administrator, typically)."""
    from sqlalchemy import select

    from archive_service.auth.service import create_user
    from archive_service.db import transaction
    from archive_service.errors import ArchiveError
    from archive_service.organisations.models import Organisation

    try:
        with transaction() as session:
            org = session.scalar(select(Organisation).where(Organisation.credit_code == organisation_credit_code))
            if org is None:
                raise ArchiveError("organisation.unknown", "未找到该统一社会信用代码的单位", "organisation_credit_code")
            user = create_user(session, username=username, display_name=display_name, password=password,
                               role=role, organisation_id=org.id)
            typer.echo(f"user {user.id}: {user.username} ({role.value}) at {org.name}")
    except ArchiveError as e:
        _fail(e)


@app.command()
def demo(
    retirees: int = typer.Option(300, min=1, max=100_000),
    if_empty: bool = typer.Option(False, "--if-empty", help="do nothing (and succeed) when users exist"),
) -> None:
    """Load the demo bureau, enterprises, retirees and users into an empty installation."""
    from sqlalchemy import select

    from archive_service.auth.models import User
    from archive_service.db import transaction
    from archive_service.demo import DEMO_PASSWORD, load_demo

    with transaction() as session:
        if session.scalar(select(User.id).limit(1)) is not None:
            if if_empty:
                typer.echo("demo data: installation already has users, left as it is")
                return
            _fail(Exception("installation already has users; demo data goes only into an empty one"))
        counts = load_demo(session, retirees=retirees)
    typer.echo(f"demo data loaded: {counts}; every demo user's password is {DEMO_PASSWORD}")


@app.command()
def serve(host: str | None = None, port: int | None = None) -> None:
    """Run the web application (migrating the database first)."""
    import uvicorn

    from archive_service.config import get_settings
    from archive_service.db import get_engine
    from archive_service.migrate import upgrade

    settings = get_settings()
    upgrade(get_engine())
    logging.basicConfig(level=logging.INFO)
    uvicorn.run("archive_service.main:app", host=host or settings.host, port=port or settings.port)


if __name__ == "__main__":
    app()

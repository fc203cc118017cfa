"""The `archive` command, for the server's operator: 21 commands in eight areas, one module each.

Setting up (installation.py): `db upgrade`, `orgs create`, `users create`, `demo`.
Running (running.py): `serve` (web + local job workers), `worker` (a job worker, local or Celery).
Preservation (preservation.py): `fixity check`, `replicate`, `objects delete` (audited), `backup`, `restore`.
Digitisation (digitisation.py): `digitise`, `rebuild-faulty`. Search (search.py): `search sync | reindex |
verify`. Evidence (evidence.py): `audit verify` (the access log's hash chain), `transfers verify-receipt`
(a receipt PDF against its manifest). Holdings (holdings.py): `holdings import` (an old ledger, checked and
saved with a progress bar). Security (security.py): `security report` (the level-3 controls and their state),
`keys rotate` (the data key). What people read is Chinese; option names stay as typed."""

from sqlalchemy.exc import OperationalError, ProgrammingError

from archive_service.cli import (
    digitisation,
    evidence,
    holdings,
    installation,
    preservation,
    running,
    search,
    security,
)
from archive_service.cli.common import database_failure
from archive_service.protection import DataKeyError
from digitise.terminal import ChineseTyper

app = ChineseTyper(
    failures={
        OperationalError: database_failure,
        ProgrammingError: database_failure,
        DataKeyError: lambda e: str(getattr(e, "message", e)),  # a missing or foreign data key, by name
    },
    help="退休人员人事档案托管系统：运维命令",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _start() -> None:
    """Every command starts as every process does (archive_service/startup.py)."""
    from archive_service.startup import start

    start()


for area in (installation, running, preservation, digitisation, evidence, security):
    app.add_typer(area.app)
app.add_typer(search.app, name="search")
app.add_typer(holdings.app, name="holdings")

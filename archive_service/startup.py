"""What every process does once before its first session: know every table and mapper, and install the
session hooks the rules rely on. Called by each entry point — the web app (`app.create_app`), the
`archive` command, a spawned job worker, the test suite — and safe to call again.

- every flush queues the dossiers it changed for the search index (`finding/outbox.py`);
- objects stored in a transaction that rolls back are removed again (`preservation/service.py`);
- with a broker, a job queued in a committed transaction rings its doorbell (`jobs/queue.py`);
- pikepdf's decompression-bomb classes are made now: pikepdf makes them on first use without a lock, and two
  threads decoding their first page image at once failed with KeyError 'warning' (one 500 in 621 requests of
  a full reading room, tests/archive_service/test_server_under_load.py).
"""

import logging
from datetime import UTC, datetime

import pikepdf

from archive_service import db
from archive_service import models as _models  # noqa: F401  every table and mapper
from archive_service.finding import outbox
from archive_service.jobs import queue
from archive_service.preservation import service as preservation


def start() -> None:
    outbox.install()
    preservation.install()
    queue.install()
    db.started()
    pikepdf.DecompressionBombWarning  # noqa: B018  made here, once, not by the first two threads at once


_LEVELS = {
    logging.DEBUG: "调试",
    logging.INFO: "信息",
    logging.WARNING: "警告",
    logging.ERROR: "错误",
    logging.CRITICAL: "严重",
}


class _BureauTime(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802  logging's name
        return db.show_time(datetime.fromtimestamp(record.created, UTC), "%Y-%m-%d %H:%M:%S")


def log_to_console() -> None:
    """How a process of its own (`archive serve`, a job worker) writes its log: the bureau's time, the level
    in Chinese, the process, the message."""
    for level, name in _LEVELS.items():
        logging.addLevelName(level, name)
    console = logging.StreamHandler()
    console.setFormatter(_BureauTime("%(asctime)s %(levelname)s %(processName)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[console])

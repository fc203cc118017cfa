"""Settings read from the environment (every variable is ARCHIVE_*, listed in README.md).

The defaults give the zero-set-up embedded installation: SQLite, a local object directory,
an embedded search index and local worker processes, all under ./var.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from digitise.ocr import DEFAULT_ENGINE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARCHIVE_", extra="ignore")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"ARCHIVE_TIME_ZONE：未知的时区 {name!r}（应为 IANA 名称，如 Asia/Shanghai）") from None
        return name

    var_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite at {var_dir}/archive.db
    object_store: Literal["local", "s3"] = "local"
    object_dir: Path | None = None  # empty: {var_dir}/objects
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "archive"
    s3_secure: bool = False
    # The OCR engine digitisation reads pages with (digitise/ocr.py ENGINES; the default chosen by measurement):
    # PP-OCRv4 (paddle), PP-OCRv6 (paddle6), v4 with v6 re-reading doubtful lines (paddle-cascade), Tesseract.
    ocr_engine: Literal["paddle", "paddle6", "paddle-cascade", "tesseract"] = DEFAULT_ENGINE
    # A folder of larger PP-OCR models obtained offline (PP-OCRv6 medium, PP-OCRv5 server) with their
    # SHA256SUMS manifest, read in place of v6 small; a file whose sum differs is refused by name.
    ocr_models: Path | None = None
    search_backend: Literal["embedded", "elasticsearch"] = "embedded"
    search_dir: Path | None = None  # empty: {var_dir}/search (the embedded index)
    search_sync_seconds: float = 1.0  # how often the service applies the search outbox; 0: never (a worker does)
    elasticsearch_url: str = "http://127.0.0.1:9200"
    elasticsearch_alias: str = "archive-dossiers"
    broker_url: str = ""  # empty: local worker processes; redis://… or amqp://… for Celery
    job_workers: int = 1  # local worker processes `archive serve` starts when there is no broker
    job_lease_seconds: float = 60.0  # a worker silent this long is presumed dead; its job is taken over
    job_retry_seconds: float = 10.0  # first back-off after a transient failure (doubling each attempt)
    job_max_attempts: int = 5
    job_poll_seconds: float = 1.0  # how often an idle local worker looks for work
    # The bureau's time zone: what every page, PDF, export and watermark shows, and whose date "today" is.
    time_zone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    # Requests one web worker process serves at once (its thread pool); the database pool is sized from it
    # (two connections per request). With PostgreSQL: workers × (2 × this + 4) must fit max_connections.
    request_threads: int = Field(12, ge=1, le=200)
    port: int = 8000
    # Failed logins of one name from one address before it waits (30 s, doubling, at most the window); a name
    # from any address waits after 3×, an address with any names after 10× (at most a minute each).
    login_max_failures: int = 5
    login_window_minutes: int = 15
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, e.g. ["10.0.0.5"]);
    # from anyone else the header is ignored.
    trusted_proxies: list[str] = []
    secure_cookies: bool = False  # set true behind HTTPS
    # Where people reach the service, when a reverse proxy changes the Host header on its way in
    # (e.g. "https://dangan.example.gov.cn"); page writes from any other origin are refused.
    public_origins: list[str] = []
    # Where an administrator may order a replication through the service ("local:/mnt/offsite", "s3:backup");
    # any other target is for the server's operator, with `archive replicate --to` on the machine itself.
    replica_targets: list[str] = []
    max_upload_mb: int = 2048  # the largest request body accepted (a file's scans in one upload)
    min_free_disk_mb: int = Field(1024, ge=0)  # /healthz says not ok when the data folder's disk has less free
    # How long a request's body (its first 1 MB) may take to arrive, and the longest silence in a larger
    # upload; a slower sender is answered 408 and let go.
    body_seconds: float = Field(30.0, gt=0)
    bodies_per_address: int = Field(8, ge=1)  # bodies one address may be sending at once (429 beyond)
    # 转递: the sending bureau's access to a digitised file it sent on — "move" (it goes with the file) or
    # "retain" (the sender keeps read access to the copy as it was when the file left).
    onward_digital_copy: Literal["move", "retain"] = "move"
    purposes_file: Path | None = None  # empty: the purposes shipped in access/purposes.toml
    # Personal information at rest (archive_service/protection.py): the key(s), Base64, the last one current —
    # in the environment, or in a file (default {var_dir}/data.key, made on a new installation's first upgrade).
    data_key: str = ""
    data_key_file: Path | None = None
    data_cipher: Literal["aes-256-gcm", "sm4-gcm"] = "aes-256-gcm"  # for values sealed from now on
    data_digest: Literal["hmac-sha256", "hmac-sm3"] = "hmac-sha256"  # exact search; changing it needs a rotation

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'archive.db').as_posix()}"

    @property
    def digitise_work_dir(self) -> Path:
        """Where digitisation runs keep their resumable work (page images, OCR results) until recorded."""
        return self.var_dir / "digitise"

    @property
    def resolved_object_dir(self) -> Path:
        return self.object_dir or self.var_dir / "objects"

    @property
    def resolved_search_dir(self) -> Path:
        return self.search_dir or self.var_dir / "search"


def page_folder(work_root: Path, archival_code: str) -> Path:
    """Where a dossier's finished pages wait for a resumed run (after a crash, or a corrected catalogue)."""
    return work_root / f"digitise-{archival_code}.work"


def job_folder(settings: Settings, job_id: int) -> Path:
    """A job's own scratch folder (the scans a worker fetched for it)."""
    return settings.digitise_work_dir / f"job-{job_id}"


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""ASGI entry point: `uvicorn archive_service.main:app` — the served app, warmed up before its first request."""

from archive_service.app import create_app

app = create_app(served=True)

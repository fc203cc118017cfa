"""ASGI entry point: `uvicorn archive_service.main:app`."""

from archive_service.app import create_app

app = create_app()

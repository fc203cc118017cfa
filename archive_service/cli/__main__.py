from archive_service.cli import app

app()

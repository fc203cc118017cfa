"""Object store port and adapters (local content-addressed directory, MinIO/S3)."""

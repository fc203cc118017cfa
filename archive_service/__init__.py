"""Archive custody: intake, digitisation, shelving, transfer and use of personnel files (人事档案)."""

__version__ = "0.1.0"

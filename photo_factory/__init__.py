"""Photo Factory shared core: settings, database access, the worker loop, heartbeats and the CLI."""

__version__ = "0.1.0"

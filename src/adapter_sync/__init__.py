"""adapter-sync: manage Adapter custom connectors as code."""

__version__ = "0.1.0"

"""Picsha's front doors: the MCP server, the REST API and the ``picsha`` command."""

__version__ = "0.1.0"

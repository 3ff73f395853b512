from picsha_mcp.rest.app import create_app

__all__ = ["create_app"]

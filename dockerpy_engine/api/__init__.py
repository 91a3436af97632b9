"""The Docker Engine REST API: the only package that imports aiohttp.web."""

from .app import build_app

__all__ = ["build_app"]

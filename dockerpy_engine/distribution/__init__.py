"""Distribution: the registry client (OCI distribution spec on aiohttp), pull, push, login,
search."""

from ._errors import describe
from .progress import Progress, format_error
from .registries import RegistryConfig, RegistryConfigError, certs_dirs_for
from .service import DistributionService, registry_host
from .types import (
    AuthConfig,
    DistributionInspect,
    LoginReport,
    Platform,
    PullOptions,
    PushOptions,
    SearchOptions,
    SearchResult,
    decode_auth_header,
)

__all__ = [
    "AuthConfig",
    "DistributionInspect",
    "DistributionService",
    "LoginReport",
    "Platform",
    "Progress",
    "PullOptions",
    "PushOptions",
    "RegistryConfig",
    "RegistryConfigError",
    "SearchOptions",
    "SearchResult",
    "certs_dirs_for",
    "decode_auth_header",
    "describe",
    "format_error",
    "registry_host",
]

"""Distribution: the registry client (OCI distribution spec on aiohttp), pull, push, login."""

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
    "certs_dirs_for",
    "decode_auth_header",
    "format_error",
    "registry_host",
]

"""The container domain: records, lifecycle, OCI specs, logs and streams."""

from .service import ContainerService

__all__ = ["ContainerService"]

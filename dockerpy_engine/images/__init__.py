"""Images: the content-addressed image and layer store, references, import/load, changes."""

from .changes import apply_changes
from .delete import InUse
from .layers import LayerError, LayerStats
from .reference import (
    DigestReference,
    InvalidReference,
    Reference,
    familiar_string,
    is_image_id_prefix,
    parse,
    parse_any,
    repo_tag_reference,
)
from .store import EventSink, ImageStore
from .types import Image, chain_id, chain_ids

__all__ = [
    "DigestReference",
    "EventSink",
    "Image",
    "ImageStore",
    "InUse",
    "InvalidReference",
    "LayerError",
    "LayerStats",
    "Reference",
    "apply_changes",
    "chain_id",
    "chain_ids",
    "familiar_string",
    "is_image_id_prefix",
    "parse",
    "parse_any",
    "repo_tag_reference",
]

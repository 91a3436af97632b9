"""distribution/reference as the docker CLI uses it: parse `NAME[:TAG|@DIGEST]` into its
normalised parts (`busybox` is `docker.io/library/busybox`), with docker's error texts, and the
registry whose credentials an image's pull or push needs."""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = [
    "DEFAULT_DOMAIN",
    "INDEX_SERVER",
    "Reference",
    "ReferenceError",
    "familiar_name",
    "parse_normalized",
]

DEFAULT_DOMAIN = "docker.io"
INDEX_SERVER = "https://index.docker.io/v1/"  # the config.json key of Docker Hub's credentials

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*\Z")
_ANY_CASE_PATH = re.compile(_PATH.pattern.replace("a-z0-9", "a-zA-Z0-9"))
_DOMAIN = re.compile(
    r"(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?\Z"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}\Z")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}\Z")


class ReferenceError(ValueError):
    """An unparsable reference; str() is docker's message."""


class Reference(NamedTuple):
    domain: str  # docker.io, 127.0.0.1:5000
    path: str  # library/busybox
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """Named.Name(): the full repository name, `docker.io/library/busybox`."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        return (
            self.name
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )

    @property
    def familiar(self) -> str:
        """FamiliarString: `busybox:latest` for Docker Hub's official images."""
        return (
            familiar_name(self.name)
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )

    @property
    def index_key(self) -> str:
        """The config.json `auths` key of this reference's registry."""
        return INDEX_SERVER if self.domain == DEFAULT_DOMAIN else self.domain


def familiar_name(name: str) -> str:
    """Drop `docker.io/` and `docker.io/library/` from a full repository name."""
    if name.startswith(DEFAULT_DOMAIN + "/"):
        name = name[len(DEFAULT_DOMAIN) + 1 :]
        if name.startswith("library/") and name.count("/") == 1:
            name = name[len("library/") :]
    return name


def parse_normalized(ref: str) -> Reference:
    """ParseNormalizedNamed: a reference with its domain (and `library/`) filled in."""
    remainder = ref
    digest = ""
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        if not _DIGEST.match(digest):
            raise ReferenceError("invalid reference format")
    tag = ""
    colon = remainder.rfind(":")
    if colon > remainder.rfind("/"):
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG.match(tag):
            raise ReferenceError("invalid reference format")
    domain, sep, path = remainder.partition("/")
    if not sep or (
        "." not in domain and ":" not in domain and domain != "localhost" and domain.islower()
    ):  # splitDockerDomain: an upper-case first component counts as a domain
        domain, path = DEFAULT_DOMAIN, remainder
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = "library/" + path
    if not _DOMAIN.match(domain) or not path:
        raise ReferenceError("invalid reference format")
    if not _PATH.match(path):
        if _ANY_CASE_PATH.match(path):
            raise ReferenceError(
                f"invalid reference format: repository name ({path}) must be lowercase"
            )
        raise ReferenceError("invalid reference format")
    if len(domain) + 1 + len(path) > 255:
        raise ReferenceError("repository name must not be more than 255 characters")
    return Reference(domain, path, tag, digest)

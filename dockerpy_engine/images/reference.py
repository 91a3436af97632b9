"""Docker image references: parsing, normalising and display, as the docker CLI and dockerd do.

A reference is `[domain/]path[:tag][@digest]`. Internally every name is normalised
(`busybox` -> `docker.io/library/busybox`); the "familiar" form strips Docker Hub's domain
and its `library/` namespace again for display (`RepoTags: ["busybox:latest"]`). The
grammar and the error wording follow distribution/reference, because clients print
dockerd's messages verbatim (`invalid reference format`, `... must be lowercase`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errdefs import InvalidParameter

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = rf"(?:{_DOMAIN}/)?{_REMOTE_NAME}"

_REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$", re.ASCII)
_ANCHORED_NAME_RE = re.compile(rf"^(?:({_DOMAIN})/)?({_REMOTE_NAME})$", re.ASCII)
_ANCHORED_TAG_RE = re.compile(rf"^{_TAG}$", re.ASCII)
_IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_DIGEST_HEX_LEN = {"sha256": 64, "sha384": 96, "sha512": 128}


class InvalidReference(InvalidParameter):
    """A reference string that dockerd would refuse (400, with distribution's wording)."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A normalised named reference: `domain/path[:tag][@digest]`."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Full repository name, e.g. `docker.io/library/busybox`."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        return self.name + _suffix(self.tag, self.digest)

    @property
    def familiar_name(self) -> str:
        """The short name users type: `busybox`, `foo/bar`, `localhost:5000/x`."""
        if self.domain == DEFAULT_DOMAIN:
            rest = self.path.removeprefix(OFFICIAL_REPO_PREFIX)
            if rest != self.path and "/" not in rest:
                return rest
            return self.path
        return self.name

    def familiar_string(self) -> str:
        """`busybox:latest`, `busybox@sha256:…`: how dockerd shows RepoTags/RepoDigests."""
        return self.familiar_name + _suffix(self.tag, self.digest)

    def with_default_tag(self) -> Reference:
        """TagNameOnly: a bare name gets `:latest`; a digest reference stays as it is."""
        if self.tag is None and self.digest is None:
            return replace(self, tag=DEFAULT_TAG)
        return self

    def with_tag(self, tag: str) -> Reference:
        """WithTag: validate and set the tag (a digest, if any, is kept)."""
        if not _ANCHORED_TAG_RE.match(tag):
            raise InvalidReference("invalid tag format")
        return replace(self, tag=tag)

    def trim(self) -> Reference:
        """The bare repository, without tag or digest."""
        return Reference(self.domain, self.path)

    def lookup_key(self) -> str:
        """The key the reference store uses: digest wins over tag, bare names get :latest."""
        if self.digest is not None:
            return str(replace(self, tag=None))
        return str(self.with_default_tag())


@dataclass(frozen=True, slots=True)
class DigestReference:
    """A bare content digest (`sha256:<hex>`), as ParseAnyReference returns for IDs."""

    digest: str

    def __str__(self) -> str:
        return self.digest

    def familiar_string(self) -> str:
        return self.digest


def _suffix(tag: str | None, digest: str | None) -> str:
    return (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def validate_digest(text: str) -> str:
    """go-digest's Parse: `alg:hex` with a known algorithm and the right hex length."""
    if not _DIGEST_RE.match(text):
        raise InvalidReference("invalid checksum digest format")
    alg, _, hexpart = text.partition(":")
    want = _DIGEST_HEX_LEN.get(alg)
    if want is None:
        raise InvalidReference("unsupported digest algorithm")
    if len(hexpart) != want:
        raise InvalidReference("invalid checksum digest length")
    if not re.fullmatch(r"[a-f0-9]+", hexpart):
        raise InvalidReference("invalid checksum digest format")
    return text


def parse_raw(text: str) -> Reference:
    """distribution's Parse: the grammar only, no Docker Hub normalisation."""
    match = _REFERENCE_RE.match(text)
    if match is None:
        if text == "":
            raise InvalidReference("repository name must have at least one component")
        if _REFERENCE_RE.match(text.lower()):
            raise InvalidReference("repository name must be lowercase")
        raise InvalidReference("invalid reference format")
    name, tag, digest = match.groups()
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    name_match = _ANCHORED_NAME_RE.match(name)
    assert name_match is not None  # the full grammar already matched
    domain, path = name_match.group(1) or "", name_match.group(2)
    if digest is not None:
        validate_digest(digest)
    return Reference(domain, path, tag, digest)


def _split_docker_domain(name: str) -> tuple[str, str]:
    """Which part of `name` is a registry: localhost, anything with `.`/`:` or uppercase."""
    first, sep, rest = name.partition("/")
    if not sep:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if first == "localhost" or any(c in first for c in ".:") or first.lower() != first:
        domain, remote = first, rest
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def parse(text: str) -> Reference:
    """ParseNormalizedNamed: `busybox` -> docker.io/library/busybox (no default tag added)."""
    if _IDENTIFIER_RE.match(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = _split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidReference(
            f"invalid reference format: repository name ({remote}) must be lowercase"
        )
    ref = parse_raw(f"{domain}/{remainder}")
    if not ref.domain:
        raise InvalidReference("repository name must be canonical")
    return ref


def parse_any(text: str) -> Reference | DigestReference:
    """ParseAnyReference: a 64-hex ID or `sha256:<hex>` is a digest, anything else a name."""
    if _IDENTIFIER_RE.match(text):
        return DigestReference(f"sha256:{text}")
    try:
        return DigestReference(validate_digest(text))
    except InvalidReference:
        return parse(text)


def familiar_string(text: str) -> str:
    """Normalise then show as users expect: `docker.io/library/busybox:1` -> `busybox:1`."""
    return parse(text).familiar_string()


def repo_tag_reference(repo: str, tag: str = "") -> Reference | None:
    """httputils.RepoTagReference: the `repo` + `tag` query pair of import/tag/commit.

    None when no repo was given; a digest is refused; the tag defaults to `latest`.
    """
    if not repo:
        return None
    ref = parse(repo)
    if ref.digest is not None:
        raise InvalidReference("cannot import digest reference")
    if tag:
        return ref.with_tag(tag)
    return ref.with_default_tag()


def is_image_id_prefix(image_id: str, possible_prefix: str) -> bool:
    """True when the user named the image by (a prefix of) its ID, with or without `sha256:`.

    dockerd's ImageDelete uses this to choose between untagging and deleting.
    """
    if image_id.startswith(possible_prefix):
        return True
    _, sep, hexpart = image_id.partition(":")
    return bool(sep) and hexpart.startswith(possible_prefix)


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match (`*` stops at `/`, `[^…]` negates): the `reference` filter's globbing."""
    return _compile_glob(pattern).fullmatch(name) is not None


def _compile_glob(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            if i >= n:
                raise InvalidParameter("syntax error in pattern")
            out.append(re.escape(pattern[i]))
            i += 1
        elif c == "[":
            end = i
            if end < n and pattern[end] == "^":
                end += 1
            if end < n and pattern[end] == "]":
                raise InvalidParameter("syntax error in pattern")
            while end < n and pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            if end >= n:
                raise InvalidParameter("syntax error in pattern")
            body = pattern[i:end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            cls = body.replace("\\\\", "\x00").replace("[", "\\[").replace("\x00", "\\\\")
            out.append(f"[^{cls}]" if negate else f"[{cls}]")
            i = end + 1
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


def familiar_match(pattern: str, ref: Reference) -> bool:
    """reference.FamiliarMatch: glob against `name:tag`, then against the bare name."""
    return path_match(pattern, ref.familiar_string()) or path_match(pattern, ref.familiar_name)

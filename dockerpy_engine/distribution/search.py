"""docker search: a registry's v1 search API, asked as dockerd's registry service asks it.

dockerd (registry/search.go, search_endpoint_v1.go, search_session.go) goes in this order,
and so the first failure it meets is the one the client sees:

1. filters: only `is-automated`, `is-official` and `stars`; `is-automated=true` finds
   nothing without asking anyone (the field is deprecated and always false now);
2. a term starting with `http://` or `https://` is refused; its first component names the
   index when it looks like a host (a `.` or a `:` in it, or `localhost`), else the term is
   Docker Hub's, where a `library/` prefix is dropped;
3. the index's v1 endpoint: Hub's is https://index.docker.io, taken on trust; any other is
   pinged at `/v1/_ping` over HTTPS, then (an insecure registry only: listed, or in
   127.0.0.0/8) over HTTP. Any answer will do, only a failed request moves on; when none is
   left it is the client's mistake (400) and dockerd says why, with its `--insecure-registry`
   advice for a secure one. The ping's `X-Docker-Registry-Standalone` (or `standalone` in
   its JSON, true when absent) says whether credentials go with every request;
4. the limit (0: 25) must be within [1, 100], checked only now, as dockerd does;
5. `GET /v1/search?q=<remote>&n=<limit>`: with an identity token and a username, through
   the v2 token flow (the challenge of `/v2/`, scope `registry:catalog:search`); else with
   Basic credentials, always to a standalone registry over HTTPS, otherwise only when a
   username was given. The client's `X-Meta-*` headers go along on every request;
6. any status but 200 is `Unexpected status code N` and JSON that is not a result list is
   dockerd's decoding error (both 500); results are then filtered, `is_automated` forced to
   false.

Endpoints, TLS (certs.d, insecure registries), the session and the token flow are the
ones pull uses.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import orjson
import yarl

from ..errdefs import InvalidParameter, System
from ..images.prune import get_bool_or_default
from ..images.reference import DEFAULT_DOMAIN
from ._errors import Unreachable, describe
from .auth import Authorizer, basic_header, parse_challenges
from .client import RegistryClient
from .registries import Endpoint
from .types import AuthConfig, SearchOptions, SearchResult

ACCEPTED_FILTERS = ("is-automated", "is-official", "stars")
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
INDEX_SERVER = "https://index.docker.io"
SEARCH_SCOPE = "registry:catalog:search"
_MAX_PING_BODY = 64 << 10
_MAX_RESULTS_BODY = 16 << 20
_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64 = 1 << 63


@dataclasses.dataclass(frozen=True, slots=True)
class SearchFilters:
    """The `is-official` and `stars` filters, parsed; None means the filter is not set."""

    official: bool | None = None
    min_stars: int | None = None

    def admits(self, result: SearchResult) -> bool:
        if self.official is not None and result.is_official != self.official:
            return False
        return self.min_stars is None or result.star_count >= self.min_stars


def parse_search_filters(filters: Mapping[str, list[str]]) -> SearchFilters | None:
    """dockerd's checks and wording; None when `is-automated=true` leaves nothing to find."""
    unknown = sorted(set(filters) - set(ACCEPTED_FILTERS))
    if unknown:
        raise InvalidParameter(f"invalid filter '{unknown[0]}'")
    if get_bool_or_default(filters, "is-automated", False):
        return None
    official = get_bool_or_default(filters, "is-official", False)
    if "stars" not in filters:
        return SearchFilters(official if "is-official" in filters else None)
    stars = 0
    for value in filters["stars"]:
        number = _go_atoi(value)
        if isinstance(number, str):
            raise InvalidParameter(f"invalid filter 'stars={value}': {number}")
        stars = max(stars, number)
    return SearchFilters(official if "is-official" in filters else None, stars)


def parse_limit(text: str) -> int | None:
    """getImagesSearch's `limit`: "" is 0 (the default), no integer a 400. A negative one is
    None: dockerd wraps a nil error there (`errors.Wrap(nil, …)`), so its handler returns
    having written nothing and the client gets an empty 200."""
    if not text:
        return 0
    number = _go_atoi(text)
    if isinstance(number, str):
        raise InvalidParameter(f"invalid limit specified: {number}")
    return number if number >= 0 else None


def _go_atoi(text: str) -> int | str:
    """strconv.Atoi on a 64-bit host: the number, or Go's error text."""
    if not _GO_INT.fullmatch(text):
        return f'strconv.Atoi: parsing "{text}": invalid syntax'
    number = int(text)
    if not -_INT64 <= number < _INT64:
        return f'strconv.Atoi: parsing "{text}": value out of range'
    return number


def split_search_term(term: str) -> tuple[str, str]:
    """splitReposSearchTerm: (index, remote name); Hub unless the first part is a host."""
    first, sep, rest = term.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost"):
        return DEFAULT_DOMAIN, term
    return first, rest


def validate_index_name(name: str) -> str:
    """ValidateIndexName: `index.docker.io` is Hub; no leading or trailing hyphen."""
    if name == "index.docker.io":
        return DEFAULT_DOMAIN
    if name.startswith("-") or name.endswith("-"):
        raise InvalidParameter(f"invalid index name ({name}). Cannot begin or end with a hyphen")
    return name


async def search(client: RegistryClient, options: SearchOptions) -> list[SearchResult]:
    """GET /images/search: the index's answer, filtered as dockerd filters it."""
    wanted = parse_search_filters(options.filters)
    if wanted is None:
        return []
    found = await _search_index(client, options)
    return [dataclasses.replace(r, is_automated=False) for r in found if wanted.admits(r)]


async def _search_index(client: RegistryClient, options: SearchOptions) -> list[SearchResult]:
    term = options.term
    if term.startswith(("http://", "https://")):
        raise InvalidParameter(
            f"invalid repository name: repository name ({term}) should not have a scheme"
        )
    index, remote = split_search_term(term)
    index = validate_index_name(index)
    # the session would otherwise ask for gzip, which it does not undo (blobs stay as sent)
    headers = {**options.headers, "Accept-Encoding": "identity"}
    if index == DEFAULT_DOMAIN:
        endpoint, standalone = Endpoint(INDEX_SERVER, index), False
        remote = remote.removeprefix("library/")
    else:
        endpoint, standalone = await _v1_endpoint(client, index, headers)
    authorizer = None
    if options.auth.identity_token and options.auth.username:
        authorizer = await _token_authorizer(client, endpoint, options.auth, headers)
    limit = options.limit or DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter(f"limit {limit} is outside the range of [1, {MAX_LIMIT}]")
    url = f"{endpoint.url}/v1/search?q={quote_plus(remote)}&n={limit}"
    sent = {**headers, "X-Docker-Token": "true"}
    if authorizer is not None:
        authorization = await authorizer.header((SEARCH_SCOPE,), url)
    else:
        authorization = _basic(options.auth, always=standalone and endpoint.secure)
    if authorization:
        sent["Authorization"] = authorization
    async with _get(client, endpoint, url, sent) as response:
        if response.status != 200:
            raise System(f"Unexpected status code {response.status}")
        body = await response.content.read(_MAX_RESULTS_BODY + 1)
    if len(body) > _MAX_RESULTS_BODY:
        raise System("error decoding registry search results: more than 16 MiB of results")
    return parse_search_results(body)


def _basic(auth: AuthConfig, *, always: bool) -> str | None:
    """dockerd's v1 authTransport: Basic credentials on every request to a standalone
    registry (even empty ones), else on the search only when there is a username."""
    if always or auth.username:
        return basic_header(auth.username, auth.password)
    return None


@asynccontextmanager
async def _get(
    client: RegistryClient, endpoint: Endpoint, url: str, headers: Mapping[str, str]
) -> AsyncIterator[aiohttp.ClientResponse]:
    """GET on the daemon's registry session with the endpoint's TLS; a transport failure is
    Unreachable, worded as Go's `Get "<url>": …`."""
    try:
        context = await client.config.ssl_for(url, endpoint.verify)
        async with client.session().get(
            yarl.URL(url, encoded=True),
            headers=dict(headers),
            ssl=context if context is not None else True,
        ) as response:
            yield response
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise Unreachable(f'Get "{url}": {describe(exc)}') from None


async def _ping(client: RegistryClient, endpoint: Endpoint, headers: Mapping[str, str]) -> bool:
    """v1 `_ping`, answered with any status; True when the registry says it is standalone."""
    async with _get(client, endpoint, f"{endpoint.url}/v1/_ping", headers) as response:
        flag = response.headers.get("X-Docker-Registry-Standalone", "")
        if flag:
            return flag == "1" or flag.lower() == "true"
        try:
            body = await response.content.read(_MAX_PING_BODY)
        except (TimeoutError, aiohttp.ClientError, OSError):
            body = b""  # dockerd ignores a body it cannot decode
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return True
    value = _member(document, "standalone") if isinstance(document, dict) else None
    return value if isinstance(value, bool) else True


async def _v1_endpoint(
    client: RegistryClient, index: str, headers: Mapping[str, str]
) -> tuple[Endpoint, bool]:
    """newV1Endpoint: HTTPS, then HTTP for an insecure registry; (endpoint, standalone)."""
    endpoints = await client.config.endpoints(index, mirrors=False)
    https = endpoints[0]
    try:
        return https, await _ping(client, https, headers)
    except Unreachable as exc:
        first = exc.message
    if https.verify or len(endpoints) < 2:
        raise InvalidParameter(
            f"invalid registry endpoint {https.url}/v1/: {first}. If this private registry "
            "supports only HTTP or HTTPS with an unknown CA certificate, please add "
            f"`--insecure-registry {index}` to the daemon's arguments. In the case of HTTPS, "
            "if you have access to the registry's CA certificate, no need for the flag; "
            f"simply place the CA certificate at /etc/docker/certs.d/{index}/ca.crt"
        )
    http = endpoints[1]
    try:
        return http, await _ping(client, http, headers)
    except Unreachable as exc:
        raise InvalidParameter(
            f'invalid registry endpoint "{http.url}/v1/". HTTPS attempt: {first}. '
            f"HTTP attempt: {exc.message}"
        ) from None


async def _token_authorizer(
    client: RegistryClient, endpoint: Endpoint, auth: AuthConfig, headers: Mapping[str, str]
) -> Authorizer:
    """dockerd's v2AuthHTTPClient: the challenge `/v2/` answers with (any status will do)
    decides how the search request is authorized."""
    authorizer = Authorizer(client.session(), auth, client.tokens, client.config.ssl_for)
    async with _get(client, endpoint, f"{endpoint.url}/v2/", headers) as response:
        if response.status == 401:
            authorizer.learn(parse_challenges(response.headers.getall("WWW-Authenticate", [])))
    return authorizer


# -- decoding: Go's encoding/json into registry.SearchResults -----------------------------

_FIELDS: tuple[tuple[str, type, str], ...] = (
    ("star_count", int, "int"),
    ("is_official", bool, "bool"),
    ("name", str, "string"),
    ("is_automated", bool, "bool"),
    ("description", str, "string"),
)


def parse_search_results(body: bytes) -> list[SearchResult]:
    """The `results` of a v1 search answer; anything Go's decoder would refuse is an error
    in its words (keys match case-insensitively, nulls leave zero values)."""
    what = "error decoding registry search results"
    if not body.strip():
        raise System(f"{what}: EOF")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise System(f"{what}: {exc}") from None
    if document is None:
        return []
    if not isinstance(document, dict):
        raise System(f"{what}: {_mismatch(document, 'Go value of type registry.SearchResults')}")
    entries = _member(document, "results")
    if entries is None:
        return []
    if not isinstance(entries, list):
        target = "Go struct field SearchResults.results of type []registry.SearchResult"
        raise System(f"{what}: {_mismatch(entries, target)}")
    return [_result(entry, what) for entry in entries]


def _result(entry: Any, what: str) -> SearchResult:
    if entry is None:
        return SearchResult("")
    if not isinstance(entry, dict):
        target = "Go struct field SearchResults.results of type registry.SearchResult"
        raise System(f"{what}: {_mismatch(entry, target)}")
    values: dict[str, Any] = {}
    for key, kind, go_type in _FIELDS:
        value = _member(entry, key)
        if value is None:
            continue
        # bool is an int in Python, never in JSON; a float is no Go int, nor is 2**63
        fits = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if kind is int and fits and not -_INT64 <= value < _INT64:
            fits = False
        if not fits:
            target = f"Go struct field SearchResult.results.{key} of type {go_type}"
            raise System(f"{what}: {_mismatch(value, target, into_int=kind is int)}")
        values[key] = value
    return SearchResult(**values)


def _member(document: dict[str, Any], key: str) -> Any:
    """encoding/json's field match: the exact key, else one equal to it ignoring case."""
    if key in document:
        return document[key]
    for name, value in document.items():
        if name.lower() == key:
            return value
    return None


def _mismatch(value: Any, target: str, *, into_int: bool = False) -> str:
    """json.UnmarshalTypeError's text (a number that is no Go int is quoted)."""
    if isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, int | float):
        kind = f"number {orjson.dumps(value).decode()}" if into_int else "number"
    elif isinstance(value, str):
        kind = "string"
    elif isinstance(value, list):
        kind = "array"
    else:
        kind = "object"
    return f"json: cannot unmarshal {kind} into {target}"

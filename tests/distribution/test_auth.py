"""distribution/auth.py: challenge parsing, the token flow, caching, Basic, identity tokens."""

from __future__ import annotations

import base64
import json
import time

import pytest

from dockerpy_engine.distribution._errors import RegistryError
from dockerpy_engine.distribution.auth import (
    Challenge,
    parse_challenges,
    parse_token_response,
    pick_challenge,
)
from dockerpy_engine.distribution.types import AuthConfig

from .fakes import FakeRegistry, new_client, repository, serve


def test_bearer_challenge_with_quoted_commas():
    [challenge] = parse_challenges(
        [
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:samalba/my-app:pull,push"'
        ]
    )
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.service == "registry.docker.io"
    assert challenge.scopes == ("repository:samalba/my-app:pull,push",)


def test_several_challenges_escapes_and_basic():
    found = parse_challenges(['Basic realm="a \\"b\\"", Bearer realm="https://t/x", error="x"'])
    assert [c.scheme for c in found] == ["basic", "bearer"]
    assert found[0].params["realm"] == 'a "b"'
    assert pick_challenge(found) == found[1]  # Bearer wins
    assert pick_challenge(parse_challenges(["Basic realm=registry"])).scheme == "basic"
    assert pick_challenge(parse_challenges(["Bearer service=x"])) is None  # no realm
    assert parse_challenges(["Negotiate"]) == [Challenge("negotiate", {})]


def test_token_response():
    now = time.monotonic()
    token = parse_token_response(b'{"access_token": "a", "expires_in": 3600}', now)
    assert token.value == "a" and token.expires == pytest.approx(now + 3600)
    short = parse_token_response(b'{"token": "t", "expires_in": 5, "refresh_token": "r"}', now)
    assert short.expires == pytest.approx(now + 60)  # the spec's minimum lifetime
    assert short.refresh_token == "r"
    with pytest.raises(RegistryError, match="did not include a token"):
        parse_token_response(b"{}")


@pytest.fixture
async def bearer():
    registry = FakeRegistry(auth="bearer", manifests={"repo:1": (b"{}", "x")})
    server = await serve(registry)
    client = new_client()
    yield registry, server, client
    await client.close()
    await server.close()


async def test_challenge_then_token_request_with_scope_and_credentials(bearer):
    registry, server, client = bearer
    repo = repository(client, server, auth=AuthConfig("me", "pw"))
    await repo.ping()
    assert repo.authorizer.challenge is not None
    await repo.get_manifest("1")
    await repo.get_manifest("1")
    [request] = registry.token_requests  # cached for the second call
    assert request["service"] == ["fake-registry"]
    assert request["scope"] == ["repository:repo:pull"]
    assert request["account"] == ["me"]
    assert request["offline_token"] == ["true"] and request["client_id"] == ["docker"]
    assert request["auth"].startswith("Basic ")
    assert repo.authorizer.refresh_token.startswith("r-")  # kept: login returns it


async def test_identity_token_uses_the_oauth_refresh_grant(bearer):
    registry, server, client = bearer
    login = repository(client, server, auth=AuthConfig("me", "pw"), scopes=())
    assert (await login.login()).startswith("r-")
    identity = login.authorizer.refresh_token
    repo = repository(client, server, auth=AuthConfig(identity_token=identity))
    await repo.get_manifest("1")
    post = [r for r in registry.token_requests if r["method"] == "POST"]
    assert post[-1]["grant_type"] == "refresh_token"
    assert post[-1]["refresh_token"] == identity
    assert post[-1]["scope"] == "repository:repo:pull"


async def test_a_scope_the_token_lacks_is_asked_for_after_the_401(bearer):
    registry, server, client = bearer
    repo = repository(client, server, auth=AuthConfig("me", "pw"), scopes=())
    await repo.get_manifest("1")  # no scope up front: the 401's challenge names it
    scopes = [r.get("scope") for r in registry.token_requests]
    assert scopes[-1] == ["repository:repo:pull"]


async def test_wrong_password_and_anonymous(bearer):
    _registry, server, client = bearer
    repo = repository(client, server, auth=AuthConfig("me", "wrong"))
    with pytest.raises(RegistryError, match="unauthorized: incorrect username or password"):
        await repo.login()
    anonymous = repository(client, server)
    with pytest.raises(RegistryError) as caught:
        await anonymous.get_manifest("1")
    assert caught.value.code == "UNAUTHORIZED"


async def test_registry_token_is_sent_as_is(bearer):
    registry, server, client = bearer
    token = base64.b64encode(json.dumps({"scopes": ["repository:repo:pull"]}).encode()).decode()
    repo = repository(client, server, auth=AuthConfig(registry_token=token))
    assert (await repo.get_manifest("1"))[0] == b"{}"
    assert registry.token_requests == []


async def test_basic_auth():
    registry = FakeRegistry(auth="basic", manifests={"repo:1": (b"{}", "x")})
    server = await serve(registry)
    client = new_client()
    try:
        repo = repository(client, server, auth=AuthConfig("me", "pw"))
        assert (await repo.get_manifest("1"))[0] == b"{}"
        nobody = repository(client, server)
        await nobody.ping()
        with pytest.raises(RegistryError, match="no basic auth credentials"):
            await nobody.get_manifest("1")
        wrong = repository(client, server, auth=AuthConfig("me", "nope"), scopes=())
        with pytest.raises(RegistryError, match="failed with status: 401 Unauthorized"):
            await wrong.login()
    finally:
        await client.close()
        await server.close()

"""distribution/types.py: X-Registry-Auth decoding and AuthConfig."""

from __future__ import annotations

import base64
import json

import pytest

from dockerpy_engine.distribution.types import AuthConfig, decode_auth_header
from dockerpy_engine.errdefs import InvalidParameter


def _header(data: object, pad: bool = True) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    return raw if pad else raw.rstrip("=")


def test_header_is_base64url_json_with_or_without_padding():
    data = {
        "username": "u",
        "password": "p?>",
        "serveraddress": "127.0.0.1:5000",
        "identitytoken": "",
    }
    for pad in (True, False):
        auth = decode_auth_header(_header(data, pad))
        assert (auth.username, auth.password, auth.server_address) == ("u", "p?>", "127.0.0.1:5000")


def test_tokens_and_auth_field():
    auth = decode_auth_header(_header({"identitytoken": "refresh", "registrytoken": "bearer"}))
    assert (auth.identity_token, auth.registry_token) == ("refresh", "bearer")
    legacy = AuthConfig.from_api({"auth": base64.b64encode(b"me:secret:x").decode()})
    assert (legacy.username, legacy.password) == ("me", "secret:x")
    assert AuthConfig.from_api({}).anonymous


def test_bad_header_is_ignored_for_pull_and_refused_when_strict():
    assert decode_auth_header("%%%").anonymous
    assert decode_auth_header(_header(["not", "an", "object"])).anonymous
    assert decode_auth_header("").anonymous
    with pytest.raises(InvalidParameter, match="X-Registry-Auth"):
        decode_auth_header("%%%", strict=True)


def test_repr_keeps_secrets_out():
    assert "secret" not in repr(AuthConfig("me", "secret", identity_token="secret"))

"""login, logout, and the `X-Registry-Auth` header that pull and push send. Credentials live
where the docker CLI keeps them: with a credential helper named by config.json
(`credHelpers` per registry, else `credsStore`), in that helper (`docker-credential-<name>
get|store|erase`, JSON on stdin/stdout), an empty entry under `auths` marking the registry;
otherwise base64-encoded (`user:password`) under `auths`, keyed by registry host (Docker Hub's
key is `https://index.docker.io/v1/`)."""

from __future__ import annotations

import base64

from cli import _json
from cli.api import CLIError
from cli.env import Env, save_config
from cli.reference import INDEX_SERVER

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "login",
    "logout",
    "registry_auth_header",
    "search",
    "stored_credentials",
    "stored_servers",
]

_UNENCRYPTED = (
    "\nWARNING! Your credentials are stored unencrypted in '{path}'.\n"
    "Configure a credential helper to remove this warning. See\n"
    "https://docs.docker.com/go/credential-store/\n\n"
)


class _HelperError(Exception):
    """A credential helper failed: its error and what it printed, in docker's words."""

    def __init__(self, cause: str, out: str) -> None:
        super().__init__(f"err: {cause}, out: `{out}`")
        self.out = out


def _helper(env: Env, server: str) -> str:
    """The credential helper that keeps `server`'s credentials ("": config.json itself)."""
    config = env.config
    return str((config.get("credHelpers") or {}).get(server) or config.get("credsStore") or "")


def _run_helper(helper: str, action: str, data: str) -> str:
    import subprocess

    program = f"docker-credential-{helper}"
    try:
        p = subprocess.run([program, action], input=data, capture_output=True, text=True)
    except OSError:
        raise _HelperError(f'exec: "{program}": executable file not found in $PATH', "") from None
    out = p.stdout.strip()
    if p.returncode != 0:
        raise _HelperError(f"exit status {p.returncode}", out)
    return out


def stored_credentials(env: Env, server: str) -> tuple[str, str, str]:
    """(username, password, identity token) saved for a registry; empty when none (or when
    its helper cannot say: pulls and pushes then go without, as docker's do)."""
    helper = _helper(env, server)
    if helper:
        try:
            doc = _json.loads(_run_helper(helper, "get", server) or "{}")
        except (_HelperError, ValueError):
            return "", "", ""
        user, secret = str(doc.get("Username") or ""), str(doc.get("Secret") or "")
        return ("", "", secret) if user == "<token>" else (user, secret, "")
    entry = (env.config.get("auths") or {}).get(server) or {}
    user = password = ""
    if entry.get("auth"):
        try:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            raise CLIError(f"invalid auth configuration file for {server}") from None
    return user or entry.get("username", ""), password, entry.get("identitytoken", "")


def stored_servers(env: Env) -> list[str]:
    """The registries the client has credentials for (in config.json's `auths`, or in its
    per-registry helpers)."""
    config = env.config
    return list(dict.fromkeys([*(config.get("auths") or {}), *(config.get("credHelpers") or {})]))


def registry_auth_header(env: Env, server: str) -> dict[str, str]:
    """`X-Registry-Auth`: the stored credentials of `server` as base64url JSON (`{}` when
    there are none, as the CLI sends)."""
    user, password, token = stored_credentials(env, server)
    doc: dict[str, str] = {}
    if user or password:
        doc = {"username": user, "password": password, "serveraddress": server}
    if token:
        doc["identitytoken"] = token
    raw = _json.dumps(doc, compact=True).encode()
    return {"X-Registry-Auth": base64.urlsafe_b64encode(raw).decode()}


def _hostname(server: str) -> str:
    """registry.ConvertToHostname: the host of `https://host/path`."""
    for scheme in ("http://", "https://"):
        if server.startswith(scheme):
            server = server[len(scheme) :]
            break
    return server.split("/", 1)[0]


def _default_server(env: Env) -> str:
    info = env.api.get("/info") or {}
    return str(info.get("IndexServerAddress") or INDEX_SERVER)


def login(env: Env, server: str, username: str, password: str | None, password_stdin: bool) -> int:
    """docker login: check the credentials through the daemon's POST /auth, then store them."""
    if password is not None and password_stdin:
        raise CLIError("conflicting options: cannot specify both --password and --password-stdin")
    if password_stdin:
        if not username:
            raise CLIError("the --password-stdin option requires --username to be set")
        password = env.stdin.read().decode(errors="replace").rstrip("\n").rstrip("\r")
    elif password is not None:
        env.err.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    server = _hostname(server) if server else _default_server(env)
    if server in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        server = INDEX_SERVER
    if not username and not password:
        user, stored_password, token = stored_credentials(env, server)
        if user and (stored_password or token):
            env.err.write(
                f"Authenticating with existing credentials... [Username: {user}]\n\n"
                " Info -> To login with a different account, run 'docker logout' followed "
                "by 'docker login'\n\n\n"
            )
            body = {"username": user, "password": stored_password, "serveraddress": server}
            if token:
                body["identitytoken"] = token
            resp = env.api.post("/auth", json_body=body) or {}
            env.out.write(f"{resp.get('Status') or 'Login Succeeded'}\n")
            return 0
    if not username or password is None:
        raise CLIError("Error: Cannot perform an interactive login from a non TTY device")
    body = {"username": username, "password": password, "serveraddress": server}
    resp = env.api.post("/auth", json_body=body) or {}
    token = str(resp.get("IdentityToken") or "")
    helper = _helper(env, server)
    if helper:
        secret = {"ServerURL": server, "Username": "<token>" if token else username}
        secret["Secret"] = token or password
        try:
            _run_helper(helper, "store", _json.dumps(secret))
        except _HelperError as e:
            raise CLIError(f"Error saving credentials: error storing credentials - {e}") from None
        entry: dict[str, Any] = {}
    else:
        entry = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
        if token:
            entry = {"identitytoken": token, "auth": ""}
    config = dict(env.config)
    auths = dict(config.get("auths") or {})
    changed = auths.get(server) != entry
    auths[server] = entry
    config = {"auths": auths, **{k: v for k, v in config.items() if k != "auths"}}
    path = save_config(env.config_path, config)
    if changed and not helper:
        env.err.write(_UNENCRYPTED.format(path=path))
    env.out.write(f"{resp.get('Status') or 'Login Succeeded'}\n")
    return 0


def logout(env: Env, server: str) -> int:
    """docker logout: drop the registry's entry from config.json."""
    server = _hostname(server) if server else _default_server(env)
    if server in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        server = INDEX_SERVER
    env.out.write(f"Removing login credentials for {server}\n")
    helper = _helper(env, server)
    if helper and server in (env.config.get("auths") or {}):  # only what login recorded
        try:
            _run_helper(helper, "erase", server)
        except _HelperError as e:
            env.err.write(f"WARNING: could not erase credentials: {server}: {e}\n")
    config = dict(env.config)
    auths = dict(config.get("auths") or {})
    auths.pop(server, None)
    config = {"auths": auths, **{k: v for k, v in config.items() if k != "auths"}}
    save_config(env.config_path, config)
    return 0


SEARCH_HEADERS = {
    "Name": "NAME",
    "Description": "DESCRIPTION",
    "StarCount": "STARS",
    "IsOfficial": "OFFICIAL",
}


def search(env: Env, term: str, filters: list[str], fmt: str, limit: int, no_trunc: bool) -> int:
    """docker search: GET /images/search (the credentials of the term's registry sent along),
    through docker's search formatter context."""
    from cli.actions._common import filters_param, render
    from cli.gotemplate import GoJSON, GoStruct, go_json
    from cli.reference import parse_normalized

    class SearchContext(GoStruct, GoJSON):
        _go_type = "*registry.searchContext"
        _go_fields = (*SEARCH_HEADERS, "IsAutomated")

        def __init__(self, result: dict[str, Any], trunc: bool, json: bool = False) -> None:
            self.r, self.trunc, self.json = result, trunc, json

        @property
        def Name(self) -> str:
            return str(self.r.get("name") or "")

        @property
        def Description(self) -> str:
            from cli.format import ellipsis

            text = str(self.r.get("description") or "").replace("\n", " ").replace("\r", " ")
            return ellipsis(text, 45) if self.trunc else text

        @property
        def StarCount(self) -> str:
            return str(self.r.get("star_count") or 0)

        def _flag(self, value: Any) -> str:
            if self.json:
                return "true" if value else "false"
            return "[OK]" if value else ""

        @property
        def IsOfficial(self) -> str:
            return self._flag(self.r.get("is_official"))

        @property
        def IsAutomated(self) -> str:
            return self._flag(self.r.get("is_automated"))

        def go_json(self) -> str:
            as_json = SearchContext(self.r, self.trunc, True)
            return go_json({k: getattr(as_json, k) for k in sorted(SEARCH_HEADERS)})

    try:
        server = parse_normalized(term).index_key
    except ValueError:
        server = INDEX_SERVER
    params: dict[str, Any] = {
        "term": term,
        "limit": str(limit) if limit else None,
        "filters": filters_param(filters),
    }
    resp = env.api.request(
        "GET", "/images/search", params, headers=registry_auth_header(env, server)
    )
    try:
        results = resp.json() or []
    finally:
        resp.close()
    if fmt in ("", "table"):
        fmt = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"
    render(env, fmt, SEARCH_HEADERS, [SearchContext(r, not no_trunc) for r in results])
    return 0

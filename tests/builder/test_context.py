"""context.py: the POST /build body (hostile tars included), the Dockerfile lookup, dockerd's
removeDockerfile, and remote contexts (git over a local dumb-http server, tars, plain text)."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import shutil
import stat
import subprocess
import tarfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from dockerpy_engine import errdefs
from dockerpy_engine.build.context import (
    ContextError,
    acceptable_type,
    apply_dockerignore,
    context_path,
    dockerfile_path,
    extract_context,
    fetch_remote,
    is_git_url,
    parse_git_url,
    remote_content_kind,
    sniff_content_type,
)
from tests.images.test_layers import make_tar, node, reg


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    path = tmp_path / "context"
    path.mkdir()
    return path


def _extract(data: bytes, dest: Path) -> None:
    extract_context(io.BytesIO(data), dest)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# -- extract_context --------------------------------------------------------------------


def test_context_keeps_metadata_and_symlinks_as_data(ctx: Path) -> None:
    data = make_tar(
        node("src", tarfile.DIRTYPE, mode=0o750, uid=10, gid=20, mtime=1_500_000_000),
        reg("src/app.py", b"print(1)\n", mode=0o640, uid=1000, gid=1001, mtime=1_234_567_890),
        node("etc-link", tarfile.SYMTYPE, linkname="/etc/passwd"),  # anywhere: it is data
        node("src/self", tarfile.SYMTYPE, linkname="app.py"),
        node("src/again", tarfile.LNKTYPE, linkname="src/app.py"),
        reg(".wh.kept", b"not a whiteout"),
    )
    _extract(data, ctx)
    app = (ctx / "src/app.py").stat()
    assert (app.st_uid, app.st_gid, stat.S_IMODE(app.st_mode)) == (1000, 1001, 0o640)
    assert app.st_mtime == 1_234_567_890
    src = (ctx / "src").stat()
    assert (src.st_uid, src.st_gid, stat.S_IMODE(src.st_mode)) == (10, 20, 0o750)
    assert src.st_mtime == 1_500_000_000
    assert os.readlink(ctx / "etc-link") == "/etc/passwd"
    assert os.readlink(ctx / "src/self") == "app.py"
    assert (ctx / "src/again").stat().st_ino == app.st_ino
    assert (ctx / ".wh.kept").read_bytes() == b"not a whiteout"


@pytest.mark.parametrize(
    "compress",
    [lambda b: b, gzip.compress, bz2.compress, lzma.compress],
    ids=["plain", "gzip", "bzip2", "xz"],
)
def test_compression_is_sniffed(ctx: Path, compress: Callable[[bytes], bytes]) -> None:
    _extract(compress(make_tar(reg("Dockerfile", b"FROM scratch\n"))), ctx)
    assert (ctx / "Dockerfile").read_bytes() == b"FROM scratch\n"


def test_empty_body_is_an_empty_context(ctx: Path) -> None:
    _extract(b"", ctx)
    assert _tree(ctx) == []
    with pytest.raises(ContextError, match=r"^Cannot locate specified Dockerfile: Dockerfile$"):
        dockerfile_path(ctx, "Dockerfile")


def test_dotdot_names_stop_at_the_context_root(ctx: Path, outside: Path) -> None:
    """dockerd unpacks the context chrooted into its directory: `..` there is the root."""
    _extract(make_tar(reg("../outside/victim", b"pwned")), ctx)
    assert (outside / "victim").read_text() == "original"
    assert (ctx / "outside/victim").read_bytes() == b"pwned"


def test_absolute_names_land_inside(ctx: Path, outside: Path) -> None:
    _extract(make_tar(reg(str(outside / "victim"), b"pwned"), reg("/abs", b"x")), ctx)
    assert (outside / "victim").read_text() == "original"
    assert (ctx / outside.relative_to("/") / "victim").read_bytes() == b"pwned"
    assert (ctx / "abs").read_bytes() == b"x"


def test_file_through_a_symlinked_parent_stays_inside(ctx: Path, outside: Path) -> None:
    data = make_tar(
        node("evil", tarfile.SYMTYPE, linkname=str(outside)),
        reg("evil/victim", b"pwned"),
        reg("evil/new", b"new"),
    )
    _extract(data, ctx)
    assert (outside / "victim").read_text() == "original"
    assert not (outside / "new").exists()
    inside = ctx / outside.relative_to("/")
    assert (inside / "victim").read_bytes() == b"pwned"
    assert os.readlink(ctx / "evil") == str(outside)


def test_climbing_symlinks_are_kept_and_resolve_inside(ctx: Path, outside: Path) -> None:
    """Chrooted, dockerd's Untar keeps a link whose target climbs out; writing through it
    lands inside the context."""
    data = make_tar(
        node("up", tarfile.SYMTYPE, linkname="../outside"),
        reg("up/victim", b"pwned"),
    )
    _extract(data, ctx)
    assert (outside / "victim").read_text() == "original"
    assert os.readlink(ctx / "up") == "../outside"
    assert (ctx / "outside/victim").read_bytes() == b"pwned"


@pytest.mark.parametrize("linkname", ["../outside/victim", "/outside/victim", "/etc/passwd"])
def test_hard_links_out_of_the_context_are_refused(ctx: Path, outside: Path, linkname: str) -> None:
    with pytest.raises(ContextError):
        _extract(make_tar(node("stolen", tarfile.LNKTYPE, linkname=linkname)), ctx)
    assert not (ctx / "stolen").exists()
    assert (outside / "victim").stat().st_nlink == 1


# -- paths, the Dockerfile --------------------------------------------------------------


def test_context_path_follows_symlinks_in_scope(ctx: Path, outside: Path) -> None:
    (ctx / "real").mkdir()
    (ctx / "real/file").write_text("x")
    os.symlink("real", ctx / "link")
    os.symlink(str(outside), ctx / "abs")
    os.symlink("../../../../..", ctx / "up")
    assert context_path(ctx, "link/file") == ctx / "real/file"
    assert context_path(ctx, "/link/file") == ctx / "real/file"
    assert context_path(ctx, "abs/victim") == ctx / outside.relative_to("/") / "victim"
    assert context_path(ctx, "up/victim") == ctx / "victim"
    assert context_path(ctx, "missing/x") == ctx / "missing/x"
    assert context_path(ctx, "real/../link/file") == ctx / "real/file"
    with pytest.raises(ContextError) as info:
        context_path(ctx, "../outside/victim")
    assert info.value.message == "forbidden path outside the build context: ../outside/victim ()"


def test_dockerfile_default_custom_and_lowercase(ctx: Path) -> None:
    (ctx / "dockerfile").write_text("FROM a\n")
    assert dockerfile_path(ctx, "Dockerfile") == ctx / "dockerfile"
    assert dockerfile_path(ctx, "") == ctx / "dockerfile"
    (ctx / "Dockerfile").write_text("FROM b\n")
    assert dockerfile_path(ctx, "Dockerfile") == ctx / "Dockerfile"
    (ctx / "sub").mkdir()
    (ctx / "sub/Dockerfile.dev").write_text("FROM c\n")
    assert dockerfile_path(ctx, "sub/Dockerfile.dev") == ctx / "sub/Dockerfile.dev"
    assert dockerfile_path(ctx, "./sub//Dockerfile.dev") == ctx / "sub/Dockerfile.dev"


def test_missing_dockerfile_texts(ctx: Path) -> None:
    (ctx / "dockerfile.dev").write_text("FROM a\n")
    with pytest.raises(ContextError) as info:
        dockerfile_path(ctx, "Dockerfile.dev")  # no lower-case fallback for other names
    assert info.value.message == "Cannot locate specified Dockerfile: Dockerfile.dev"
    (ctx / "dir").mkdir()
    with pytest.raises(ContextError, match=r"^Cannot locate specified Dockerfile: dir$"):
        dockerfile_path(ctx, "dir")
    with pytest.raises(ContextError, match=r"^forbidden path outside the build context"):
        dockerfile_path(ctx, "../Dockerfile")


def test_dockerfile_symlink_resolves_inside_the_context(ctx: Path, outside: Path) -> None:
    (outside / "Dockerfile").write_text("FROM host\n")
    os.symlink(str(outside / "Dockerfile"), ctx / "Dockerfile")
    with pytest.raises(ContextError, match="Cannot locate"):
        dockerfile_path(ctx, "Dockerfile")  # the host's file is never used
    (ctx / "real").write_text("FROM ctx\n")
    os.symlink("real", ctx / "Dockerfile.link")
    assert dockerfile_path(ctx, "Dockerfile.link") == ctx / "real"


# -- removeDockerfile -------------------------------------------------------------------


def test_dockerignore_removes_only_itself_and_the_dockerfile(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("Dockerfile\n.dockerignore\n*.secret\n")
    (ctx / "Dockerfile").write_text("FROM a\n")
    (ctx / "x.secret").write_text("kept: the client applies the patterns")
    matcher = apply_dockerignore(ctx, "Dockerfile")
    assert matcher is not None and matcher.matches("x.secret")
    assert _tree(ctx) == ["x.secret"]


def test_dockerignore_exceptions_keep_them(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("*\n!Dockerfile\n")
    (ctx / "Dockerfile").write_text("FROM a\n")
    apply_dockerignore(ctx, "Dockerfile")
    assert _tree(ctx) == ["Dockerfile"]  # .dockerignore matched `*`


def test_dockerignore_parent_match_removes_a_nested_dockerfile(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("build\n")
    (ctx / "build").mkdir()
    (ctx / "build/Dockerfile").write_text("FROM a\n")
    (ctx / "build/other").write_text("kept")
    apply_dockerignore(ctx, "build/Dockerfile")
    assert _tree(ctx) == [".dockerignore", "build", "build/other"]


def test_no_or_broken_dockerignore(ctx: Path) -> None:
    (ctx / "Dockerfile").write_text("FROM a\n")
    assert apply_dockerignore(ctx, "Dockerfile") is None
    (ctx / ".dockerignore").write_text("Dockerfile\n[\n")
    assert apply_dockerignore(ctx, "Dockerfile") is None  # dockerd drops the error
    assert (ctx / "Dockerfile").exists()


# -- remote: classification -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("https://github.com/docker/docker.git", True),
        ("https://github.com/docker/docker.git#branch", True),
        ("https://github.com/docker/docker.git#branch:dir", True),
        ("http://host/a#b.git", True),  # the regexp only looks at the end
        ("https://github.com/docker/docker", False),
        ("https://host/ctx.tar.gz", False),
        ("https://host/repo.git#", False),
        ("git://github.com/docker/docker", True),
        ("git@github.com:docker/docker.git", True),
        ("ssh://git@host/repo", True),
        ("github.com/docker/docker", True),
        ("file:///tmp/repo.git", False),
        ("/tmp/repo.git", False),
    ],
)
def test_is_git_url(url: str, want: bool) -> None:
    assert is_git_url(url) is want


@pytest.mark.parametrize(
    ("url", "remote", "ref", "subdir"),
    [
        ("https://h/r.git", "https://h/r.git", "master", ""),
        ("https://h/r.git#mytag", "https://h/r.git", "mytag", ""),
        ("https://h/r.git#:docker", "https://h/r.git", "master", "docker"),
        ("https://h/r.git#br:a/b", "https://h/r.git", "br", "a/b"),
        ("https://h/r.git#pull/42/head", "https://h/r.git", "pull/42/head", ""),
        ("git@github.com:o/r.git#br:dir", "git@github.com:o/r.git", "br", "dir"),
        ("github.com/o/r", "https://github.com/o/r", "master", ""),
        ("git://h/r#v1:x", "git://h/r", "v1", "x"),
    ],
)
def test_parse_git_url(url: str, remote: str, ref: str, subdir: str) -> None:
    source = parse_git_url(url)
    assert (source.remote, source.ref, source.subdir) == (remote, ref, subdir)


def test_git_refs_cannot_be_options() -> None:
    with pytest.raises(ContextError, match=r"^invalid refspec: --upload-pack=x$"):
        parse_git_url("https://h/r.git#--upload-pack=x")


@pytest.mark.parametrize(
    ("data", "want"),
    [
        (b"FROM busybox\nRUN true\n", "text/plain"),
        (b"\xef\xbb\xbfFROM busybox\n", "text/plain"),
        (gzip.compress(b"x"), "application/x-gzip"),
        (make_tar(reg("a", b"x"))[:100], "application/octet-stream"),
        (bz2.compress(b"x"), "application/octet-stream"),
        (b"  <html><body>oops</body></html>", "text/html"),
        (b"<!DOCTYPE html>", "text/html"),
        (b"<?xml version='1.0'?>", "text/xml"),
        (b"PK\x03\x04rest", "application/unknown"),
    ],
)
def test_sniff_content_type(data: bytes, want: str) -> None:
    assert sniff_content_type(data) == want


@pytest.mark.parametrize(
    ("content_type", "want"),
    [
        ("text/plain; charset=utf-8", "text/plain"),
        ("application/x-tar", "application/x-tar"),
        ("application/tar", "application/tar"),
        ("application/x-gzip", "application/x-gzip"),
        ("application/gzip", "application/gzip"),
        ("application/x-bzip2", "application/x-bzip2"),
        ("application/x-xz", "application/x-xz"),
        ("application/octet-stream", "application/octet-stream"),
        ("text/html", ""),
        ("application/json", ""),
    ],
)
def test_acceptable_type(content_type: str, want: str) -> None:
    assert acceptable_type(content_type) == want


def test_remote_content_kind_errors() -> None:
    url = "http://h/x"
    with pytest.raises(ContextError) as info:
        remote_content_kind(url, "application/x-tar", b"")
    assert info.value.message == f"error detecting content type for remote {url}: empty response"
    with pytest.raises(ContextError) as info:
        remote_content_kind(url, "", b"<html>")
    assert info.value.message == (
        f'error detecting content type for remote {url}: unsupported Content-Type ""'
    )
    assert remote_content_kind(url, "application/octet-stream", b"FROM a\n") == "text/plain"


# -- remote: fetching -------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """The local http server's static files."""
    root = tmp_path / "srv"
    root.mkdir()
    return root


@pytest.fixture
def repo(served: Path, tmp_path: Path) -> None:
    """A bare repository served over dumb http: `master`, and `other` changing sub/."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "master")
    (work / "Dockerfile").write_text("FROM master\n")
    (work / "sub").mkdir()
    (work / "sub/Dockerfile").write_text("FROM sub\n")
    os.symlink("sub", work / "sublink")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "one")
    _git(work, "checkout", "-q", "-b", "other")
    (work / "sub/Dockerfile").write_text("FROM other-sub\n")
    _git(work, "commit", "-q", "-am", "two")
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(served / "repo.git"))
    _git(served / "repo.git", "update-server-info")


@pytest.fixture
async def server(served: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    context_tar = make_tar(reg("Dockerfile", b"FROM tar\n"), reg("app/main.py", b"x"))

    def reply(body: bytes, content_type: str | None, status: int = 200) -> web.Response:
        response = web.Response(body=body, status=status)
        if content_type is not None:
            response.content_type = content_type
        return response

    routes = {
        "/ctx.tar.gz": lambda: reply(gzip.compress(context_tar), "application/x-gzip"),
        "/ctx.tar": lambda: reply(context_tar, None),  # octet-stream: sniffed
        "/Dockerfile": lambda: reply(b"FROM text\n", "text/plain"),
        "/missing": lambda: reply(b"nope\n", "text/plain", 404),
        "/page": lambda: reply(b"<html></html>", "text/html"),
        "/empty": lambda: reply(b"", "application/x-tar"),
    }

    async def handler(request: web.Request) -> web.Response:
        return routes[request.path]()

    app = web.Application()
    for path in routes:
        app.router.add_get(path, handler)
    app.router.add_static("/git/", served)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield str(test_server.make_url("")).rstrip("/")
    await test_server.close()


@pytest.mark.usefixtures("repo")
async def test_git_context_default_branch(server: str, ctx: Path) -> None:
    assert await fetch_remote(f"{server}/git/repo.git", ctx) == "Dockerfile"
    assert (ctx / "Dockerfile").read_text() == "FROM master\n"
    assert (ctx / "sub/Dockerfile").read_text() == "FROM sub\n"
    assert os.readlink(ctx / "sublink") == "sub"
    assert (ctx / ".git").is_dir()  # dockerd tars the checkout as it is
    assert [p.name for p in ctx.parent.iterdir() if p.name.startswith("docker-build-git")] == []


@pytest.mark.usefixtures("repo")
async def test_git_context_ref_and_subdir(server: str, ctx: Path) -> None:
    await fetch_remote(f"{server}/git/repo.git#other:sublink", ctx)
    assert _tree(ctx) == ["Dockerfile"]
    assert (ctx / "Dockerfile").read_text() == "FROM other-sub\n"


@pytest.mark.usefixtures("repo")
async def test_git_context_errors(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "a"
    dest.mkdir()
    with pytest.raises(ContextError, match=r"^stat .*/nowhere: no such file or directory$"):
        await fetch_remote(f"{server}/git/repo.git#master:nowhere", dest)
    fetch_error = (
        "^error fetching: fatal: couldn't find remote ref no-such-branch\n: exit status 128$"
    )
    with pytest.raises(ContextError, match=fetch_error):
        await fetch_remote(f"{server}/git/repo.git#no-such-branch", dest)
    with pytest.raises(ContextError, match="not within git root"):
        await fetch_remote(f"{server}/git/repo.git#master:../..", dest)
    with pytest.raises(ContextError, match=r"^error setting git context, not a directory: "):
        await fetch_remote(f"{server}/git/repo.git#master:Dockerfile", dest)


@pytest.mark.parametrize("path", ["/ctx.tar.gz", "/ctx.tar"])
async def test_tar_over_http(server: str, ctx: Path, path: str) -> None:
    assert await fetch_remote(server + path, ctx) == "Dockerfile"
    assert (ctx / "Dockerfile").read_text() == "FROM tar\n"
    assert (ctx / "app/main.py").read_bytes() == b"x"


async def test_plain_text_is_the_dockerfile(server: str, ctx: Path) -> None:
    assert await fetch_remote(server + "/Dockerfile", ctx) == "Dockerfile"
    assert _tree(ctx) == ["Dockerfile"]
    assert (ctx / "Dockerfile").read_text() == "FROM text\n"


async def test_http_errors(server: str, ctx: Path) -> None:
    url = server + "/missing"
    with pytest.raises(errdefs.NotFound) as info:
        await fetch_remote(url, ctx)
    assert info.value.message == (
        f"error downloading remote context {url}: failed to GET {url} with status "
        "404 Not Found: nope"
    )
    with pytest.raises(ContextError, match='unsupported Content-Type "text/html"'):
        await fetch_remote(server + "/page", ctx)
    with pytest.raises(ContextError, match=r"empty response$"):
        await fetch_remote(server + "/empty", ctx)
    with pytest.raises(errdefs.System, match=r"^error downloading remote context"):
        await fetch_remote("http://127.0.0.1:1/ctx.tar", ctx)


async def test_unrecognized_remotes(ctx: Path) -> None:
    with pytest.raises(ContextError) as info:
        await fetch_remote("file:///tmp/repo.git", ctx)
    assert info.value.message == "remoteURL (file:///tmp/repo.git) could not be recognized as URL"
    with pytest.raises(errdefs.InvalidParameter, match="no longer supported"):
        await fetch_remote("client-session", ctx)

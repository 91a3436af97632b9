"""Image commands: images (image ls), tag, rmi, import, load, pull, push, save, history,
prune. Image inspect is cli.actions.inspect."""

from __future__ import annotations

import contextlib
import os

from cli._options import Options
from cli.actions._common import (
    confirm,
    filters_param,
    platform_param,
    print_json_messages,
    print_reclaimed,
    render,
)
from cli.actions._contexts import IMAGE_HEADERS, image_rows
from cli.api import APIError, CLIError
from cli.env import Env

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = [
    "ImagesOptions",
    "ImportOptions",
    "history",
    "images",
    "import_",
    "load",
    "prune",
    "pull",
    "push",
    "rmi",
    "save",
    "tag",
]


class ImagesOptions(Options):
    reference: str = ""  # REPOSITORY[:TAG] positional: a `reference` filter
    all: bool = False
    quiet: bool = False
    digests: bool = False
    no_trunc: bool = False
    filters: Sequence[str] = ()
    format: str = ""


def images(env: Env, opts: ImagesOptions) -> int:
    filters = list(opts.filters)
    if opts.reference:
        filters.append(f"reference={opts.reference}")
    params: dict[str, Any] = {"all": "1" if opts.all else None, "filters": filters_param(filters)}
    items = env.api.get("/images/json", params)
    fmt = opts.format or env.config.get("imagesFormat", "")
    if opts.quiet:
        fmt = "{{.ID}}"
    elif fmt in ("", "table"):
        fmt = (
            "table {{.Repository}}\t{{.Tag}}\t"
            + ("{{.Digest}}\t" if opts.digests else "")
            + ("{{.ID}}\t{{.CreatedSince}}\t{{.Size}}")
        )
    show_digests = opts.digests or ".Digest" in fmt
    trunc = not opts.no_trunc
    rows = [row for img in items for row in image_rows(img, show_digests, trunc)]
    render(env, fmt, IMAGE_HEADERS, rows)
    return 0


def tag(env: Env, source: str, target: str) -> int:
    """docker tag: both references checked as the docker client library does, the target
    sent as its full name (`docker.io/library/x`) and tag (`latest` when none)."""
    from urllib.parse import quote

    from cli.reference import ReferenceError, parse_normalized

    def parsed(ref: str) -> Any:
        try:
            return parse_normalized(ref)
        except ReferenceError as e:
            raise CLIError(
                f'Error parsing reference: "{ref}" is not a valid repository/tag: {e}'
            ) from None

    image_id = source.removeprefix("sha256:")
    if not (len(image_id) == 64 and all(c in "0123456789abcdef" for c in image_id)):
        parsed(source)
    ref = parsed(target)
    if ref.digest:
        raise CLIError("refusing to create a tag with a digest reference")
    params = {"repo": ref.name, "tag": ref.tag or "latest"}
    env.api.post(f"/images/{quote(source, safe='')}/tag", params)
    return 0


def rmi(
    env: Env,
    images_: list[str],
    force: bool = False,
    no_prune: bool = False,
    platforms: Sequence[str] = (),
) -> int:
    """docker rmi: `Untagged:`/`Deleted:` lines per image; errors reported, then exit 1."""
    from urllib.parse import quote

    params = {
        "force": "1" if force else None,
        "noprune": "1" if no_prune else None,
        "platforms": [platform_param(p) for p in platforms] or None,
    }
    failed = False
    for ref in images_:
        try:
            items = env.api.delete(f"/images/{quote(ref, safe='')}", params) or []
        except APIError as e:
            env.err.write(f"{e}\n")
            failed = True
            continue
        for item in items:
            if item.get("Untagged"):
                env.out.write(f"Untagged: {item['Untagged']}\n")
            if item.get("Deleted"):
                env.out.write(f"Deleted: {item['Deleted']}\n")
    return 1 if failed else 0


class ImportOptions(Options):
    source: str  # a file, `-` for stdin, or a URL
    reference: str = ""
    message: str = ""
    changes: Sequence[str] = ()
    platform: str = ""


def _file_chunks(f: Any, size: int = 1 << 20) -> Any:
    while True:
        data = f.read(size)
        if not data:
            return
        yield data


def import_(env: Env, opts: ImportOptions) -> int:
    """docker import: POST /images/create?fromSrc=- with the tarball as the body (a URL is
    passed to the daemon); prints the daemon's status lines (the new image ID)."""
    params: dict[str, Any] = {
        "message": opts.message or None,
        "changes": opts.changes or None,
        "platform": opts.platform or None,
    }
    if opts.reference:  # checked, then sent as given (`repo=name:tag`), as docker does
        from cli.reference import ReferenceError, parse_normalized

        try:
            parse_normalized(opts.reference)
        except ReferenceError as e:
            raise CLIError(str(e)) from None
        params["repo"] = opts.reference
    if opts.source.startswith(("http://", "https://")):
        params["fromSrc"] = opts.source
        resp = env.api.request("POST", "/images/create", params)
    else:
        params["fromSrc"] = "-"
        if opts.source == "-":
            f = env.stdin
            resp = env.api.request(
                "POST",
                "/images/create",
                params,
                stream_body=_file_chunks(f),
                headers={"Content-Type": "application/x-tar"},
            )
        else:
            try:
                f = open(opts.source, "rb")  # noqa: SIM115 - closed below
            except OSError as e:
                raise CLIError(f"open {opts.source}: {(e.strerror or str(e)).lower()}") from None
            with f:
                resp = env.api.request(
                    "POST",
                    "/images/create",
                    params,
                    stream_body=_file_chunks(f),
                    headers={"Content-Type": "application/x-tar"},
                )
    try:
        print_json_messages(env, resp.lines())
    finally:
        resp.close()
    return 0


def load(env: Env, input_path: str = "", quiet: bool = False, platform: str = "") -> int:
    """docker load: the tarball (-i or stdin) to POST /images/load; prints `Loaded image: ...`."""
    if input_path:
        try:
            f = open(input_path, "rb")  # noqa: SIM115 - closed below
        except OSError as e:
            raise CLIError(f"open {input_path}: {(e.strerror or str(e)).lower()}") from None
    else:
        if env.stdin_is_tty():
            raise CLIError("requested load from stdin, but stdin is empty", 1)
        f = env.stdin
    params = {
        "quiet": "1" if quiet or not env.stdout_is_tty() else "0",
        "platform": platform_param(platform),
    }
    try:
        resp = env.api.request(
            "POST",
            "/images/load",
            params,
            stream_body=_file_chunks(f),
            headers={"Content-Type": "application/x-tar"},
        )
    finally:
        if input_path:
            f.close()
    try:
        ctype = resp.headers.get("content-type", "")
        if "json" in ctype:
            print_json_messages(env, resp.lines())
        else:
            env.out_b.write(resp.read())
    finally:
        resp.close()
    return 0


def _parse(ref: str, all_tags: bool, quiet: bool, env: Env) -> Any:
    """The normalised reference of pull/push: `-a` takes no tag; without one, `latest`
    (said on stdout unless -q)."""
    from cli.reference import ReferenceError, parse_normalized

    try:
        named = parse_normalized(ref)
    except ReferenceError as e:
        raise CLIError(str(e)) from None
    if all_tags and (named.tag or named.digest):
        raise CLIError("tag can't be used with --all-tags/-a")
    if not all_tags and not named.tag and not named.digest:
        named = named._replace(tag="latest")
        if not quiet:
            env.out.write("Using default tag: latest\n")
    return named


def _progress(env: Env, resp: Any, quiet: bool) -> None:
    """The daemon's progress stream on stdout, or read and dropped with -q (errors still end
    the command)."""
    import io

    try:
        print_json_messages(env, resp.lines(), out=io.StringIO() if quiet else None)
    finally:
        resp.close()


def pull(env: Env, ref: str, all_tags: bool, quiet: bool, platform: str) -> int:
    """docker pull: POST /images/create?fromImage=&tag=; prints the full reference at the end."""
    from cli.actions.registry import registry_auth_header

    named = _parse(ref, all_tags, quiet, env)
    params = {
        "fromImage": named.name,
        "tag": (named.digest or named.tag) or None,
        "platform": platform or None,
    }
    headers = registry_auth_header(env, named.index_key)
    _progress(env, env.api.request("POST", "/images/create", params, headers=headers), quiet)
    env.out.write(f"{named}\n")
    return 0


def push(env: Env, ref: str, all_tags: bool, quiet: bool, platform: str) -> int:
    """docker push: POST /images/{name}/push?tag=; -q prints only the reference."""
    from urllib.parse import quote

    from cli.actions.registry import registry_auth_header

    named = _parse(ref, all_tags, quiet, env)
    params = {"tag": named.tag or None}
    params["platform"] = platform_param(platform)
    headers = registry_auth_header(env, named.index_key)
    path = f"/images/{quote(named.name, safe='')}/push"
    _progress(env, env.api.request("POST", path, params, headers=headers), quiet)
    if quiet:
        env.out.write(f"{named}\n")
    return 0


def save(env: Env, images_: list[str], output: str, platform: str) -> int:
    """docker save: GET /images/get to stdout (never a terminal) or to -o's file, written
    through a temporary file renamed into place."""
    if not output and env.stdout_is_tty():
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    if output:
        check_output_path(output, "failed to save image")
    params: dict[str, Any] = {"names": images_}
    params["platform"] = platform_param(platform)
    resp = env.api.request("GET", "/images/get", params)
    try:
        write_output(env, resp.chunks(), output)
    finally:
        resp.close()
    return 0


def check_output_path(path: str, what: str) -> None:
    """command.ValidateOutputPath: the directory exists and the path is not a directory."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        reason = f"stat {directory}: no such file or directory"
        raise CLIError(f"{what}: invalid output path: {reason}")
    if os.path.isdir(path):
        raise CLIError(f"{what}: cannot write to a directory")


def write_output(env: Env, chunks: Any, output: str) -> None:
    """Stream to stdout, or to `output` (mode 0600) via a temporary file renamed over it, as
    command.CopyToFile does (save, export)."""
    if not output:
        out = env.out_b
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        return
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".docker_temp_", dir=os.path.dirname(os.path.abspath(output)))
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


HISTORY_HEADERS = {
    "ID": "IMAGE",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "CreatedBy": "CREATED BY",
    "Size": "SIZE",
    "Comment": "COMMENT",
}


def history(
    env: Env, image: str, human: bool, no_trunc: bool, quiet: bool, fmt: str, platform: str
) -> int:
    """docker history: GET /images/{name}/history, newest layer first."""
    from urllib.parse import quote

    from cli.actions._contexts import HistoryContext

    params = {"platform": platform_param(platform)}
    items = env.api.get(f"/images/{quote(image, safe='')}/history", params) or []
    if quiet:
        fmt = "{{.ID}}"
    elif fmt in ("", "table"):
        created = "{{.CreatedSince}}" if human else "{{.CreatedAt}}"
        fmt = f"table {{{{.ID}}}}\t{created}\t{{{{.CreatedBy}}}}\t{{{{.Size}}}}\t{{{{.Comment}}}}"
    render(env, fmt, HISTORY_HEADERS, [HistoryContext(h, human, not no_trunc) for h in items])
    return 0


_PRUNE_WARNING = {
    False: "WARNING! This will remove all dangling images.",
    True: "WARNING! This will remove all images without at least one container associated to them.",
}


def prune(env: Env, all_: bool, force: bool, filters: list[str]) -> int:
    """docker image prune: POST /images/prune with `dangling=` (true unless -a)."""
    if not force and not confirm(env, _PRUNE_WARNING[all_]):
        return 0
    report = prune_images(env, all_, filters)
    print_reclaimed(env, [("Deleted Images", report[0])], report[1])
    return 0


def prune_images(env: Env, all_: bool, filters: list[str]) -> tuple[list[str], int]:
    """The `untagged: x`/`deleted: y` lines and the space reclaimed (shared with system prune)."""
    flt = [*filters, f"dangling={'false' if all_ else 'true'}"]
    report = env.api.post("/images/prune", {"filters": filters_param(flt)}) or {}
    lines = [
        f"untagged: {d['Untagged']}" if d.get("Untagged") else f"deleted: {d.get('Deleted', '')}"
        for d in report.get("ImagesDeleted") or []
    ]
    return lines, int(report.get("SpaceReclaimed") or 0)

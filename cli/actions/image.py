"""Image commands: images (image ls), tag, rmi, import, load. Image inspect shares
cli.actions.container.inspect."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

from cli.actions._common import filters_param, print_json_messages, render
from cli.actions._contexts import IMAGE_HEADERS, image_rows
from cli.api import APIError, CLIError
from cli.env import Env

__all__ = ["ImagesOptions", "ImportOptions", "images", "import_", "load", "rmi", "tag"]


class ImagesOptions(NamedTuple):
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


def _split_tag(ref: str) -> tuple[str, str]:
    """(repository, tag) of a target reference, `latest` when no tag is given."""
    if "@" in ref:
        raise CLIError("refusing to create a tag with a digest reference", 1)
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1 :]
    return ref, "latest"


def tag(env: Env, source: str, target: str) -> int:
    from urllib.parse import quote

    repo, t = _split_tag(target)
    env.api.post(f"/images/{quote(source, safe='')}/tag", {"repo": repo, "tag": t})
    return 0


def rmi(env: Env, images_: list[str], force: bool = False, no_prune: bool = False) -> int:
    """docker rmi: `Untagged:`/`Deleted:` lines per image; errors reported, then exit 1."""
    from urllib.parse import quote

    params = {"force": "1" if force else None, "noprune": "1" if no_prune else None}
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


class ImportOptions(NamedTuple):
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
    if opts.reference:
        repo, t = _split_tag(opts.reference)
        params["repo"] = repo
        params["tag"] = t
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


def load(env: Env, input_path: str = "", quiet: bool = False) -> int:
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
    params = {"quiet": "1" if quiet or not env.stdout_is_tty() else "0"}
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


_ = os

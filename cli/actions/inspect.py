"""docker inspect, container/image/network/volume inspect: the daemon's JSON re-indented as
docker's IndentedInspector prints it, or a Go template executed per object."""

from __future__ import annotations

from cli import _json
from cli._options import Options
from cli.actions._common import indent_json
from cli.api import APIError, CLIError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cli.env import Env

__all__ = ["InspectOptions", "inspect"]


class InspectOptions(Options):
    """docker inspect's flags; `type` is fixed by the management forms."""

    refs: list[str]
    format: str = ""
    size: bool = False
    type: str = ""  # "" (any), container, image; the management commands fix it
    platform: str = ""  # image inspect --platform


_TYPE_PATHS = {
    "container": "/containers/{}/json",
    "image": "/images/{}/json",
    "network": "/networks/{}",
    "volume": "/volumes/{}",
}


def inspect(env: Env, opts: InspectOptions) -> int:
    """inspect/container inspect/image inspect: docker's IndentedInspector (the daemon's bytes
    re-indented) or the template per object; missing objects reported after the output."""
    from cli import gotemplate

    if opts.type and opts.type not in _TYPE_PATHS:
        raise CLIError(f'"{opts.type}" is not a valid value for --type', 1)
    tmpl = None
    if opts.format and opts.format != "json":
        text = opts.format.replace("\\t", "\t").replace("\\n", "\n")
        try:
            tmpl = gotemplate.parse(text)
        except gotemplate.TemplateError as e:  # docker's status 64 for a template's syntax
            raise CLIError(f"template parsing error: {e}", 64) from None
    raws: list[bytes] = []
    errors: list[str] = []
    for ref in opts.refs:
        raw, err = _inspect_one(env, ref, opts)
        if raw is not None:
            raws.append(raw)
        if err:
            errors.append(err)
        if tmpl is not None and raw is not None:
            try:
                env.out.write(tmpl.execute(_json.loads(raw), missingkey_error=True) + "\n")
            except gotemplate.TemplateError as e:
                env.out.write("\n")  # docker flushes an empty buffer before the error
                raise CLIError(f"template parsing error: {e}") from None
    if tmpl is None:
        if raws:
            env.out.write(indent_json(b"[" + b",".join(raws) + b"]") + "\n")
        else:
            env.out.write("[]\n")
    if errors:
        env.err.write("\n".join(errors) + "\n")
        return 1
    return 0


def _inspect_one(env: Env, ref: str, opts: InspectOptions) -> tuple[bytes | None, str]:
    types = [opts.type] if opts.type else ["container", "image", "network", "volume"]
    for t in types:
        params: dict[str, Any] = {}
        if t == "container" and opts.size:
            params["size"] = "1"
        if t == "image" and opts.platform:
            from cli.actions._common import platform_param

            params["platform"] = platform_param(opts.platform)
        try:
            return env.api.get_raw(_TYPE_PATHS[t].format(quote(ref)), params), ""
        except APIError as e:
            if not e.not_found and e.http_status not in (400,):
                return None, str(e)
            if opts.type:
                return None, str(e)
    return None, f"Error: No such object: {ref}"

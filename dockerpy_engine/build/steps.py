"""The instructions of a stage, dispatched as dockerd's classic builder does.

Each step first probes the cache with the config it would record; on a hit the cached image
becomes the stage's image and nothing runs. Otherwise:
- metadata instructions (ENV, CMD, LABEL…) commit an image with an empty layer and no
  container (dockerd creates and removes an unstarted container for these; we skip that
  churn: the image, its history and the cache key are the same);
- COPY, ADD and WORKDIR write into a scratch layer of the image (rwlayer.py);
- RUN runs a real container through the container service, streams its output, and commits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errdefs
from ..containers import archive
from ..containers.commit import ChildImage, child_image_config
from ..containers.types import AttachOptions, CreateOptions
from ..containers.users import resolve_user
from ..idmap import IdentityMapping
from ..images.types import Image
from . import cache
from .context import download_source, is_url
from .copier import (
    CopySource,
    ensure_dest_dir,
    plan_copy,
    resolve_sources,
    sources_checksum,
    write_copy_tar,
)
from .dockerfile import DockerfileError, Instruction, heredoc_name
from .instructions import CONFIG_INSTRUCTIONS, apply_instruction, command_line
from .shell_lex import ShellLex, parse_arg, parse_name_values
from .stage import (
    Stage,
    go_list,
    go_quote_list,
    healthcheck_comment,
)

if TYPE_CHECKING:
    from .service import BuildRun


class StepFailed(errdefs.System):
    """A RUN whose command exited non-zero: dockerd's JSONError with the exit code, which the
    docker CLI turns into its own exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


@dataclass(slots=True)
class StepContext:
    """What a dispatcher needs besides the stage: the run (services, output) and lexer."""

    run: BuildRun
    lex: ShellLex


async def dispatch(ctx: StepContext, stage: Stage, instr: Instruction) -> None:
    """One instruction on `stage`; the stage's image is the step's result afterwards."""
    keyword = instr.keyword
    if keyword == "RUN":
        await _run(ctx, stage, instr)
    elif keyword in ("COPY", "ADD"):
        await _copy(ctx, stage, instr)
    elif keyword == "WORKDIR":
        await _workdir(ctx, stage, instr)
    elif keyword == "ARG":
        await _arg(ctx, stage, instr)
    elif keyword == "ONBUILD" or keyword in CONFIG_INSTRUCTIONS:
        await _metadata(ctx, stage, instr)
    elif keyword == "FROM":
        raise DockerfileError(f"dockerfile parse error on line {instr.line}: FROM inside a stage")
    else:
        raise DockerfileError(f"unknown instruction: {keyword}")


# -- cache and commits ------------------------------------------------------------------


async def _probe(ctx: StepContext, stage: Stage, container_config: dict[str, Any]) -> bool:
    run = ctx.run
    if run.options.no_cache or run.cache_busted:
        return False
    hit = cache.probe(run.images, stage.image_id, container_config, run.options.cache_from)
    if hit is None:
        run.cache_busted = True  # dockerd: once a step misses, every later step runs
        return False
    await run.output.stream(" ---> Using cache\n")
    stage.image = run.images.get(hit)
    return True


def _child(stage: Stage, container_config: dict[str, Any], container_id: str = "") -> ChildImage:
    config = dict(stage.run_config)
    config["Image"] = stage.image_id
    return ChildImage(
        container_id=container_id,
        container_config=container_config,
        config=config,
        author=stage.config.maintainer,
    )


async def _commit_metadata(ctx: StepContext, stage: Stage, comment: str) -> None:
    container_config = stage.nop(comment)
    if await _probe(ctx, stage, container_config):
        return
    document = child_image_config(stage.parent_document(), _child(stage, container_config))
    stage.image = await ctx.run.images.create_image(document, parent=stage.image_id)


# -- metadata instructions --------------------------------------------------------------


async def _metadata(ctx: StepContext, stage: Stage, instr: Instruction) -> None:
    env = stage.env()
    comment = _comment(ctx, stage, instr, env)
    apply_instruction(stage.config, instr, ctx.lex, env)
    if instr.keyword in ("ENV", "LABEL", "EXPOSE", "VOLUME"):
        comment = comment or instr.keyword
    await _commit_metadata(ctx, stage, comment or _after(stage, instr))


def _comment(ctx: StepContext, stage: Stage, instr: Instruction, env: Mapping[str, str]) -> str:
    """Comments built from the instruction itself (before it changes the config)."""
    keyword = instr.keyword
    if keyword in ("ENV", "LABEL"):
        pairs = parse_name_values(instr.args, keyword, ctx.lex, env)
        return keyword + "".join(f" {name}={value}" for name, value in pairs)
    if keyword == "EXPOSE":  # the ports as written, not normalised
        return "EXPOSE " + " ".join(ctx.lex.process_words(instr.args, env))
    if keyword == "VOLUME":
        paths = instr.json_args()
        if paths is None:
            paths = ctx.lex.process_words(instr.args, env)
        else:
            paths = [ctx.lex.process_word(p, env) for p in paths]
        return "VOLUME " + go_list(paths)
    if keyword == "ONBUILD":
        return "ONBUILD " + instr.args
    return ""


def _after(stage: Stage, instr: Instruction) -> str:
    """Comments built from the config the instruction produced."""
    config = stage.run_config
    keyword = instr.keyword
    if keyword in ("CMD", "ENTRYPOINT"):
        return f"{keyword} {go_quote_list(config.get(keyword.title()))}"
    if keyword == "USER":
        return "USER " + str(config.get("User") or "")
    if keyword == "STOPSIGNAL":
        return "STOPSIGNAL " + str(config.get("StopSignal") or "")
    if keyword == "HEALTHCHECK":
        return healthcheck_comment(config.get("Healthcheck") or {})
    if keyword == "SHELL":
        return "SHELL " + go_list(list(config.get("Shell") or []))
    if keyword == "MAINTAINER":
        return "MAINTAINER " + stage.config.maintainer
    return keyword


async def _arg(ctx: StepContext, stage: Stage, instr: Instruction) -> None:
    parts = []
    for name, value in parse_arg(instr.args, ctx.lex, stage.env()):
        stage.args.add_arg(name, value)
        parts.append(name if value is None else f"{name}={value}")
    await _commit_metadata(ctx, stage, "ARG " + " ".join(parts))


# -- WORKDIR ----------------------------------------------------------------------------


async def _workdir(ctx: StepContext, stage: Stage, instr: Instruction) -> None:
    apply_instruction(stage.config, instr, ctx.lex, stage.env())
    workdir = str(stage.run_config.get("WorkingDir") or "/")
    container_config = stage.nop_string("WORKDIR " + workdir)
    if await _probe(ctx, stage, container_config):
        return
    run = ctx.run
    async with run.scratch_layer(stage.image) as layer:
        async with layer.rootfs() as scope:
            root = run.images.ids.root_pair()  # --userns-remap: the remapped root's
            await asyncio.to_thread(ensure_dest_dir, scope, workdir, root)
        stage.image = await _commit_layer(ctx, stage, layer, container_config)


async def _commit_layer(
    ctx: StepContext, stage: Stage, layer: Any, config: dict[str, Any]
) -> Image:
    parent_document = stage.parent_document()
    child = _child(stage, config)
    image_id = await layer.commit(
        lambda diff_id: child_image_config(parent_document, replace(child, diff_id=diff_id))
    )
    return ctx.run.images.get(image_id)


# -- COPY and ADD -----------------------------------------------------------------------

_COPY_FLAGS: dict[str, str | bool | None] = {"from": "", "chown": "", "chmod": "", "link": False}
_ADD_FLAGS: dict[str, str | bool | None] = {"chown": "", "chmod": "", "link": False}


async def _copy(ctx: StepContext, stage: Stage, instr: Instruction) -> None:
    keyword = instr.keyword
    flags = instr.flag_values(_COPY_FLAGS if keyword == "COPY" else _ADD_FLAGS)
    env = stage.env()
    words = _copy_words(ctx, instr, env)
    if len(words) < 2 and not instr.heredocs:
        raise DockerfileError(f"{keyword} requires at least two arguments")
    patterns, dest = words[:-1], words[-1]
    urls = [p for p in patterns if is_url(p)]
    if urls and keyword == "COPY":
        raise DockerfileError("source can't be a URL for COPY")
    patterns = [p for p in patterns if not is_url(p)]
    chown_text = ctx.lex.process_word(str(flags.get("chown") or ""), env)
    chmod = _parse_chmod(str(flags.get("chmod") or ""))
    run = ctx.run
    async with contextlib.AsyncExitStack() as stack:
        root = await stack.enter_async_context(
            _source_root(ctx, stage, str(flags.get("from") or ""), instr)
        )
        for heredoc in instr.heredocs:
            content = _expand_vars(heredoc.content, env) if heredoc.expand else heredoc.content
            await asyncio.to_thread((root / heredoc.name).write_text, content)
        sources = await asyncio.to_thread(
            _resolve_all,
            root,
            patterns,
            [h.name for h in instr.heredocs],
            keyword,
            not flags.get("from"),
        )
        for url in urls:
            downloads = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=run.tmp_dir))
            path = await download_source(url, downloads)
            sources.append(CopySource(path, path.name, is_dir=False, no_decompress=True))
        checksum = await asyncio.to_thread(sources_checksum, sources)
        chown_comment = f"--chown={chown_text} " if chown_text else ""
        chmod_comment = f"--chmod={flags.get('chmod')} " if chmod is not None else ""
        comment = f"{keyword} {chown_comment}{chmod_comment}{checksum} in {dest} "
        container_config = stage.nop_string(comment)
        if await _probe(ctx, stage, container_config):
            return
        workdir = str(stage.run_config.get("WorkingDir") or "/")
        layer = await stack.enter_async_context(run.scratch_layer(stage.image))
        async with layer.rootfs() as scope:
            chown = None
            if chown_text:
                found = await asyncio.to_thread(resolve_user, chown_text, scope.read_file)
                chown = (found.uid, found.gid)
            await asyncio.to_thread(
                _copy_into,
                scope,
                (sources, dest, workdir, keyword),
                chown,
                chmod,
                run.tmp_dir,
                run.images.ids,
            )
        stage.image = await _commit_layer(ctx, stage, layer, container_config)


def _copy_words(ctx: StepContext, instr: Instruction, env: Mapping[str, str]) -> list[str]:
    """Sources and destination; the heredoc markers (`<<EOF`) name heredoc sources, which
    are added by name, so they are not words here."""
    exec_form = instr.json_args()
    if exec_form is not None:
        return [ctx.lex.process_word(word, env) for word in exec_form]
    words = [w for w in instr.args.split() if heredoc_name(w) is None]
    return ctx.lex.process_words(" ".join(words), env)


def _parse_chmod(text: str) -> int | None:
    if not text:
        return None
    try:
        mode = int(text, 8)
    except ValueError:
        raise DockerfileError(f"invalid chmod parameter: {text!r}") from None
    if mode > 0o7777:
        raise DockerfileError(f"invalid chmod parameter: {text!r}")
    return mode


_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def _expand_vars(text: str, env: Mapping[str, str]) -> str:
    """A heredoc body with an unquoted delimiter: `$NAME` and `${NAME}` expand, quotes stay."""
    return _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)


def _resolve_all(
    root: Path, patterns: list[str], heredocs: list[str], keyword: str, in_context: bool
) -> list[CopySource]:
    sources = []
    if patterns:
        sources = resolve_sources(root, patterns, keyword=keyword, in_context=in_context)
    if heredocs:
        sources += resolve_sources(root, heredocs, keyword=keyword, in_context=False)
    return sources


def _copy_into(
    scope: archive.ScopedRoot,
    what: tuple[list[CopySource], str, str, str],
    chown: tuple[int, int] | None,
    chmod: int | None,
    tmp_dir: Path,
    ids: IdentityMapping,
) -> None:
    """Plan against the image's files (a single file into an existing directory goes inside
    it), create the destination, then extract the copy's tar there, all in one thread.
    `chown` is in the container's ids; a remapped daemon (`ids`) writes them moved."""
    sources, dest, workdir, keyword = what
    plan = plan_copy(sources, dest, workdir, keyword=keyword, scope=scope)
    extract_archives = keyword == "ADD"
    ensure_dest_dir(scope, plan.dest_dir, ids.to_host(*(chown or (0, 0))))
    with tempfile.TemporaryFile(dir=tmp_dir) as spool:
        write_copy_tar(plan, spool, chown=chown, chmod=chmod, extract_archives=extract_archives)
        spool.seek(0)
        archive.extract(scope, plan.dest_dir, spool, archive.ExtractOptions(False, None, ids))


@contextlib.asynccontextmanager
async def _source_root(ctx: StepContext, stage: Stage, source: str, instr: Instruction):
    """Where COPY reads: the context, or `--from` a stage or an image, mounted read-only.

    Heredoc files are written into a private copy-root so the context is never modified."""
    run = ctx.run
    if not source:
        if not instr.heredocs:
            yield run.context_dir
            return
        scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=run.tmp_dir))
        try:
            yield scratch
        finally:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        return
    name = ctx.lex.process_word(source, stage.env())
    image = await run.image_for_copy_from(name, stage)
    async with run.scratch_layer(image) as layer, layer.read_only() as merged:
        yield merged


# -- RUN --------------------------------------------------------------------------------


async def _run(ctx: StepContext, stage: Stage, instr: Instruction) -> None:
    run = ctx.run
    cmd = _run_command(stage, instr)
    build_env = stage.args.filter_allowed(stage.run_config.get("Env") or [])
    save_cmd = cmd
    if build_env:
        keyed = sorted(e for e in build_env if stage.args.in_cache_key(e.partition("=")[0]))
        save_cmd = [f"|{len(keyed)}", *keyed, *cmd]
    probe_config = stage.with_cmd(save_cmd, Entrypoint=None)
    if await _probe(ctx, stage, probe_config):
        return
    run_config = stage.with_cmd(
        cmd, Entrypoint=[""], Env=[*(stage.run_config.get("Env") or []), *build_env]
    )
    run_config.pop("Healthcheck", None)
    run_config["Image"] = stage.image_id
    if stage.image is None:
        raise errdefs.InvalidParameter("Please provide a source image with `from` prior to run")
    container_id = await run.create_container(run_config)
    await run.output.stream(f" ---> Running in {container_id[:12]}\n")
    code = await run.run_container(container_id)
    if code != 0:
        message = f"The command '{' '.join(cmd)}' returned a non-zero code: {code}"
        raise StepFailed(message, code)
    child = _child(stage, probe_config, container_id)
    image_id = await run.files.commit_build_step(container_id, stage.image, child)
    stage.image = run.images.get(image_id)


def _run_command(stage: Stage, instr: Instruction) -> list[str]:
    """The RUN's argv: exec form as is; shell form through the stage's SHELL. A heredoc that is
    the whole command is the script itself; other heredocs stay in the text for the shell."""
    if instr.heredocs and instr.json_args() is None:
        head = instr.args.strip()
        if len(instr.heredocs) == 1 and head.lstrip("<-").strip("'\"") == instr.heredocs[0].name:
            return [*stage.shell(), instr.heredocs[0].content]
        script = instr.args + "\n" + "".join(f"{h.content}{h.name}\n" for h in instr.heredocs)
        return [*stage.shell(), script]
    return command_line(stage.config, instr)


async def remove_quietly(run: BuildRun, container_id: str) -> None:
    """Force-remove a build container; it may already be gone."""
    with contextlib.suppress(errdefs.EngineError):
        await run.containers.remove(container_id, force=True, volumes=True)


def step_attach() -> AttachOptions:
    return AttachOptions(stream=True, stdout=True, stderr=True)


def step_create(config: dict[str, Any], host_config: dict[str, Any]) -> CreateOptions:
    return CreateOptions(name="", config=config, host_config=host_config, networking_config={})

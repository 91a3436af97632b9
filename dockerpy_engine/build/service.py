"""BuildService: POST /build, dockerd's classic builder from context to tagged image.

The body (or `remote`) becomes a context directory under the image store's tmp dir; the
Dockerfile is parsed before anything is written, so its errors are plain HTTP 400s, as
dockerd's. Stages run in order up to the target; each step's output goes to the client as it
happens. Intermediate containers go away with their step (`rm`), or with a failed one too
(`forcerm`); a client that hangs up cancels the build and nothing it started survives.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import errdefs
from ..asyncutil import uninterruptible
from ..containers.files import ContainerFiles
from ..containers.rootfs import RootfsMounts
from ..containers.service import ContainerService
from ..distribution import DistributionService
from ..distribution.manifests import host_platform, parse_platform
from ..distribution.progress import Progress
from ..distribution.types import ANONYMOUS, Platform, PullOptions
from ..gofmt import go_quote
from ..images import ImageStore
from ..images._stream import with_stream
from ..images.reference import Reference, parse
from ..images.types import Image
from .buildargs import BuildArgs
from .context import apply_dockerignore, dockerfile_path, extract_context, fetch_remote
from .dockerfile import Dockerfile, DockerfileError, Instruction
from .dockerfile import parse as parse_dockerfile
from .instructions import CONFIG_INSTRUCTIONS, validate_instruction
from .options import BuildOptions
from .output import BuildOutput
from .rwlayer import ScratchLayer
from .shell_lex import ShellLex, parse_arg
from .stage import Stage
from .steps import StepContext, StepFailed, dispatch, remove_quietly, step_attach, step_create

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_FORBIDDEN_TRIGGERS = ("ONBUILD", "FROM", "MAINTAINER")


@dataclass(slots=True)
class StagePlan:
    """A FROM and the instructions under it."""

    source: Instruction
    base: str
    name: str
    platform: str
    commands: list[Instruction] = field(default_factory=list)


def plan_stages(dockerfile: Dockerfile) -> tuple[list[Instruction], list[StagePlan]]:
    """The meta ARGs before the first FROM, and the stages (names checked, as dockerd)."""
    meta: list[Instruction] = []
    stages: list[StagePlan] = []
    seen: set[str] = set()
    for instr in dockerfile.instructions:
        if instr.keyword == "FROM":
            stage = _from_plan(instr)
            if stage.name:
                if stage.name in seen:
                    raise DockerfileError(f"duplicate name {stage.name}")
                seen.add(stage.name)
            stages.append(stage)
        elif stages:
            stages[-1].commands.append(instr)
        elif instr.keyword == "ARG":
            meta.append(instr)
        else:
            raise DockerfileError("no build stage in current context")
    if not stages:
        raise DockerfileError("no build stage in current context")
    return meta, stages


def _from_plan(instr: Instruction) -> StagePlan:
    flags = instr.flag_values({"platform": ""})
    words = instr.args.split()
    if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
        raise DockerfileError("FROM requires either one or three arguments")
    name = words[2].lower() if len(words) == 3 else ""
    if name and not _STAGE_NAME.match(name):
        raise DockerfileError(
            f'invalid name for build stage: "{words[2]}", '
            "name can't start with a number or contain symbols"
        )
    return StagePlan(instr, words[0], name, str(flags.get("platform") or ""))


def _tag_references(tags: tuple[str, ...]) -> list[Reference]:
    """sanitizeRepoAndTags: each `t`, defaulted to :latest, no digests, no duplicates."""
    refs: list[Reference] = []
    for text in tags:
        if not text:
            continue
        ref = parse(text)
        if ref.digest is not None:
            raise errdefs.InvalidParameter("build tag cannot contain a digest")
        ref = ref.with_default_tag()
        if ref not in refs:
            refs.append(ref)
    return refs


def _labels_instruction(labels: dict[str, str], escape: str) -> Instruction | None:
    """dockerd appends the `labels` parameter to the last stage as a LABEL step."""
    if not labels:
        return None
    pairs = sorted(f"{go_quote(k)}='{v}'" for k, v in labels.items())
    text = f"# escape={escape}\nFROM scratch\nLABEL " + " ".join(pairs) + "\n"
    return parse_dockerfile(text).instructions[-1]


class BuildService:
    """Builds images; one instance per daemon, one BuildRun per request."""

    def __init__(
        self,
        containers: ContainerService,
        files: ContainerFiles,
        images: ImageStore,
        distribution: DistributionService,
    ) -> None:
        self.containers = containers
        self.files = files
        self.images = images
        self.distribution = distribution
        self.mounts = RootfsMounts(images.mount_path)

    async def build(
        self, options: BuildOptions, body: AsyncIterator[bytes], progress: Progress
    ) -> str:
        """Run the build; returns the image ID. Errors before the first output line are
        raised as they are (HTTP errors); later ones are the caller's to send in-band."""
        refs = _tag_references(options.tags)
        workdir = self.images.tmp_dir / f"build-{secrets.token_hex(8)}"
        run = BuildRun(self, options, BuildOutput(progress, quiet=options.quiet), workdir)
        remove = options.force_remove
        try:
            return await run.execute(body, refs)
        except asyncio.CancelledError:
            remove = True  # the client is gone: nothing it started may keep running
            raise
        except errdefs.EngineError:
            if options.quiet:
                await run.output.release_held()
            raise
        finally:
            await run.cleanup(remove_containers=remove)


class BuildRun:
    """One build: its context, output, cache state and the containers it has created."""

    def __init__(
        self, service: BuildService, options: BuildOptions, output: BuildOutput, workdir: Path
    ) -> None:
        self.service = service
        self.images = service.images
        self.containers = service.containers
        self.files = service.files
        self.options = options
        self.output = output
        self.workdir = workdir
        self.context_dir = workdir / "context"
        self.tmp_dir = workdir / "tmp"
        self.cache_busted = False
        self.stages: dict[str, Stage] = {}
        self._step_containers: list[str] = []

    # -- the build ------------------------------------------------------------------------

    async def execute(self, body: AsyncIterator[bytes], refs: list[Reference]) -> str:
        dockerfile_name = await self._receive_context(body)
        path = await asyncio.to_thread(dockerfile_path, self.context_dir, dockerfile_name)
        dockerfile = parse_dockerfile(await asyncio.to_thread(path.read_bytes))
        relative = str(path.relative_to(self.context_dir))
        await asyncio.to_thread(apply_dockerignore, self.context_dir, relative)
        meta, plans = plan_stages(dockerfile)
        plans = self._up_to_target(plans)
        label = _labels_instruction(dict(self.options.labels), dockerfile.escape)
        if label is not None:
            plans[-1].commands.append(label)
        lex = ShellLex(dockerfile.escape)
        for plan in plans:  # dockerd checks every instruction before the first step runs
            for instr in plan.commands:
                if instr.keyword in CONFIG_INSTRUCTIONS:
                    validate_instruction(instr, lex)
        args = BuildArgs(self.options.build_args)
        for warning in dockerfile.warnings:
            await self.output.stderr(warning + "\n")
        image = await self._stages(meta, plans, lex, args)
        unused = args.unused()
        if unused:
            await self.output.stream(
                f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n"
            )
        if image is None:
            raise errdefs.InvalidParameter("No image was generated. Is your Dockerfile empty?")
        await self.output.stream(f"Successfully built {image.id.removeprefix('sha256:')[:12]}\n")
        for ref in refs:
            await self.images.tag(image.id, ref.name, ref.tag or "")
            await self.output.stream(f"Successfully tagged {ref.familiar_string()}\n")
        if self.options.quiet:
            await self.output.quiet_result(image.id)
        return image.id

    def _up_to_target(self, plans: list[StagePlan]) -> list[StagePlan]:
        target = self.options.target.lower()
        if not target:
            return plans
        for index, plan in enumerate(plans):
            if plan.name == target:
                return plans[: index + 1]
        raise errdefs.InvalidParameter(
            f"failed to reach build target {self.options.target} in Dockerfile"
        )

    async def _stages(
        self, meta: list[Instruction], plans: list[StagePlan], lex: ShellLex, args: BuildArgs
    ) -> Image | None:
        """Meta ARGs (steps too, with no image), then each stage up to the target."""
        total = len(meta) + sum(1 + len(plan.commands) for plan in plans)
        step = 0
        for instr in meta:
            step += 1
            await self.output.stream(f"Step {step}/{total} : {instr.original}\n")
            for name, value in parse_arg(instr.args, lex, args.meta()):
                args.add_arg(name, value)
                args.add_meta_arg(name, value)
        stage: Stage | None = None
        ctx = StepContext(self, lex)
        for index, plan in enumerate(plans):
            step += 1
            await self.output.stream(f"Step {step}/{total} : {plan.source.original}\n")
            base = lex.process_word(plan.base, args.meta())
            stage_args = args.clone()
            platform = lex.process_word(plan.platform, args.meta()) if plan.platform else ""
            image = await self._base_image(base, platform)
            stage = Stage.begin(plan.name, index, image, stage_args, self._scratch_platform())
            await self._triggers(ctx, stage)
            await self._stepped()
            await self.output.stream(f" ---> {_short(stage.image_id)}\n")
            for instr in plan.commands:
                step += 1
                await self.output.stream(f"Step {step}/{total} : {instr.original}\n")
                await dispatch(ctx, stage, instr)
                await self._stepped()
                await self.output.stream(f" ---> {_short(stage.image_id)}\n")
            if stage.image is not None:
                await self.output.aux_image_id(stage.image.id)
            self.stages[str(index)] = stage
            if plan.name:
                self.stages[plan.name] = stage
        return stage.image if stage is not None else None

    async def _triggers(self, ctx: StepContext, stage: Stage) -> None:
        """The base image's ONBUILD triggers run first, then the stage forgets them."""
        triggers = list(stage.run_config.get("OnBuild") or [])
        stage.run_config["OnBuild"] = []
        if not triggers:
            return
        plural = "s" if len(triggers) > 1 else ""
        await self.output.stream(f"# Executing {len(triggers)} build trigger{plural}\n")
        for text in triggers:
            instr = parse_dockerfile(text).instructions[0]
            if instr.keyword in _FORBIDDEN_TRIGGERS:
                raise DockerfileError(f"{instr.keyword} isn't allowed as an ONBUILD trigger")
            await dispatch(ctx, stage, instr)

    def _scratch_platform(self) -> dict[str, str]:
        """What a stage FROM scratch records as its platform: `platform`, else the host's."""
        platform = self.options.platform or host_platform()
        out = {"architecture": platform.architecture, "os": platform.os}
        if platform.variant:
            out["variant"] = platform.variant
        return out

    # -- images ---------------------------------------------------------------------------

    async def _base_image(self, name: str, platform: str) -> Image | None:
        if name.lower() == "scratch":
            return None
        stage = self.stages.get(name.lower())
        if stage is not None:
            return stage.image
        return await self._image(name, parse_platform(platform) if platform else None)

    async def image_for_copy_from(self, name: str, current: Stage) -> Image | None:
        """COPY --from: an earlier stage (by name or index) or an image (pulled if absent)."""
        stage = self.stages.get(name.lower())
        if stage is not None:
            return stage.image
        if name.isdigit():
            problem = (
                "refers to current build stage"
                if int(name) == current.index
                else ("stage not found")
            )
            raise errdefs.InvalidParameter(f"invalid from flag value {name}: {problem}")
        return await self._image(name)

    async def _image(self, name: str, platform: Platform | None = None) -> Image:
        ref = parse(name).with_default_tag()
        if not self.options.pull:
            with contextlib.suppress(errdefs.NotFound):
                return self.images.get(ref.familiar_string() if ref.digest is None else str(ref))
        auth = self.options.auth_for(ref.domain) or ANONYMOUS
        pull = PullOptions(platform=platform or self.options.platform, auth=auth)
        await self.service.distribution.pull(ref, pull, self.output.pull_progress())
        return self.images.get(str(ref))

    def scratch_layer(self, image: Image | None) -> ScratchLayer:
        return ScratchLayer(self.images, self.service.mounts, image)

    # -- containers -----------------------------------------------------------------------

    def _host_config(self) -> dict[str, Any]:
        host: dict[str, Any] = {"LogConfig": {"Type": "none", "Config": {}}}
        host.update(self.options.host_resources)
        if self.options.network_mode:
            host["NetworkMode"] = self.options.network_mode
        if self.options.extra_hosts:
            host["ExtraHosts"] = list(self.options.extra_hosts)
        return host

    async def create_container(self, config: dict[str, Any]) -> str:
        container_id, warnings = await self.containers.create(
            step_create(config, self._host_config())
        )
        self._step_containers.append(container_id)
        for warning in warnings:
            await self.output.stream(f" ---> [Warning] {warning}\n")
        return container_id

    async def run_container(self, container_id: str) -> int:
        """Start it with its output attached to the build's stream; its exit code."""
        container, sub = self.containers.attach(container_id, step_attach())
        assert sub is not None
        waiter = await self.containers.wait(container_id, "next-exit")
        decoders = {1: codecs.getincrementaldecoder("utf-8")("replace")}
        decoders[2] = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            await self.containers.start(container_id)
            while (chunk := await sub.queue.get()) is not None:
                stream_id, data = chunk
                text = decoders[stream_id].decode(data)
                if stream_id == 2:
                    await self.output.stderr(text)
                else:
                    await self.output.stream(text)
            return await waiter()
        finally:
            self.containers.detach(container, sub)

    async def _stepped(self) -> None:
        """A step succeeded: with `rm`, its containers go, announced as dockerd does."""
        if not self.options.remove and not self.options.force_remove:
            self._step_containers.clear()
            return
        await self._remove_step_containers(announce=True)

    async def _remove_step_containers(self, announce: bool) -> None:
        while self._step_containers:
            container_id = self._step_containers.pop(0)
            await remove_quietly(self, container_id)
            if announce:
                await self.output.stream(f"Removing intermediate container {container_id[:12]}\n")

    # -- context and cleanup --------------------------------------------------------------

    async def _receive_context(self, body: AsyncIterator[bytes]) -> str:
        """The context in place; returns the Dockerfile's name in it."""
        await asyncio.to_thread(self.tmp_dir.mkdir, parents=True)
        await asyncio.to_thread(self.context_dir.mkdir)
        if self.options.remote:
            name = await fetch_remote(self.options.remote, self.context_dir)
            return self.options.dockerfile or name
        await with_stream(body, lambda f: extract_context(f, self.context_dir))
        return self.options.dockerfile

    @uninterruptible
    async def cleanup(self, remove_containers: bool) -> None:
        """A failed step's container stays unless forcerm (dockerd keeps it to debug with);
        a cancelled build's are always removed, running or not. The context goes."""
        if remove_containers:
            await self._remove_step_containers(announce=False)
        await asyncio.to_thread(shutil.rmtree, self.workdir, True)


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


__all__ = ["BuildService", "StepFailed"]

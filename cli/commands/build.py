"""build (legacy builder) and builder prune: flags only."""

from cli._command import Annotated, Arg, Opt, command
from cli.commands import _container_values as v
from cli.commands import _parsers
from cli.env import Env

LEGACY_NOTICE = (
    "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n"
    "            Install the buildx component to build images with BuildKit:\n"
    "            https://docs.docker.com/go/buildx/\n\n"
)


def _bytes(value: str) -> int:
    return _parsers.ram_bytes(value)


@command(
    "image build",
    "Build an image from a Dockerfile",
    usage="[OPTIONS] PATH | URL | -",
    aliases=("build", "builder build"),
    min_args=1,
    max_args=1,
    notice=LEGACY_NOTICE,
)
def build(
    env: Env,
    context: Annotated[str, Arg("PATH | URL | -")],
    add_host: Annotated[
        list[str],
        Opt("--add-host", metavar="list", help='Add a custom host-to-IP mapping ("host:ip")'),
    ] = [],  # noqa: B006
    build_arg: Annotated[
        list[str], Opt("--build-arg", metavar="list", help="Set build-time variables")
    ] = [],  # noqa: B006
    cache_from: Annotated[
        list[str],
        Opt("--cache-from", metavar="strings", help="Images to consider as cache sources"),
    ] = [],  # noqa: B006
    cgroup_parent: Annotated[
        str,
        Opt(
            "--cgroup-parent", help='Set the parent cgroup for the "RUN" instructions during build'
        ),
    ] = "",
    compress: Annotated[
        bool, Opt("--compress", help="Compress the build context using gzip")
    ] = False,
    cpu_period: Annotated[
        int, Opt("--cpu-period", help="Limit the CPU CFS (Completely Fair Scheduler) period")
    ] = 0,
    cpu_quota: Annotated[
        int, Opt("--cpu-quota", help="Limit the CPU CFS (Completely Fair Scheduler) quota")
    ] = 0,
    cpu_shares: Annotated[int, Opt("-c", "--cpu-shares", help="CPU shares (relative weight)")] = 0,
    cpuset_cpus: Annotated[
        str, Opt("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    ] = "",
    cpuset_mems: Annotated[
        str, Opt("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
    ] = "",
    disable_content_trust: Annotated[
        bool,
        Opt("--disable-content-trust", help="Skip image verification", show_default="true"),
    ] = True,
    file: Annotated[
        str, Opt("-f", "--file", help='Name of the Dockerfile (Default is "PATH/Dockerfile")')
    ] = "",
    force_rm: Annotated[
        bool, Opt("--force-rm", help="Always remove intermediate containers")
    ] = False,
    iidfile: Annotated[str, Opt("--iidfile", help="Write the image ID to the file")] = "",
    isolation: Annotated[str, Opt("--isolation", help="Container isolation technology")] = "",
    label: Annotated[
        list[str], Opt("--label", metavar="list", help="Set metadata for an image")
    ] = [],  # noqa: B006
    memory: Annotated[
        int, Opt("-m", "--memory", metavar="bytes", parse=_bytes, help="Memory limit")
    ] = 0,
    memory_swap: Annotated[
        int,
        Opt(
            "--memory-swap",
            metavar="bytes",
            parse=_bytes,
            help="Swap limit equal to memory plus swap: -1 to enable unlimited swap",
        ),
    ] = 0,
    network: Annotated[
        str,
        Opt("--network", help="Set the networking mode for the RUN instructions during build"),
    ] = "default",
    no_cache: Annotated[
        bool, Opt("--no-cache", help="Do not use cache when building the image")
    ] = False,
    platform: Annotated[
        str, Opt("--platform", help="Set platform if server is multi-platform capable")
    ] = "",
    pull: Annotated[
        bool, Opt("--pull", help="Always attempt to pull a newer version of the image")
    ] = False,
    quiet: Annotated[
        bool,
        Opt("-q", "--quiet", help="Suppress the build output and print image ID on success"),
    ] = False,
    rm: Annotated[
        bool,
        Opt(
            "--rm",
            help="Remove intermediate containers after a successful build",
            show_default="true",
        ),
    ] = True,
    security_opt: Annotated[
        list[str], Opt("--security-opt", metavar="strings", help="Security options")
    ] = [],  # noqa: B006
    shm_size: Annotated[
        int, Opt("--shm-size", metavar="bytes", parse=_bytes, help='Size of "/dev/shm"')
    ] = 0,
    squash: Annotated[
        bool,
        Opt(
            "--squash",
            experimental=True,
            help="Squash newly built layers into a single new layer",
        ),
    ] = False,
    tag: Annotated[
        list[str],
        Opt(
            "-t", "--tag", metavar="list", help='Name and optionally a tag in the "name:tag" format'
        ),
    ] = [],  # noqa: B006
    target: Annotated[str, Opt("--target", help="Set the target build stage to build.")] = "",
    ulimit: Annotated[
        list[dict],
        Opt("--ulimit", metavar="ulimit", parse=v.ulimit, help="Ulimit options", show_default="[]"),
    ] = [],  # noqa: B006
) -> int:
    from cli.actions import build as act

    return act.build(
        env,
        act.BuildOptions(
            context=context,
            tags=tag,
            dockerfile=file,
            build_args=build_arg,
            labels=label,
            target=target,
            no_cache=no_cache,
            pull=pull,
            quiet=quiet,
            iidfile=iidfile,
            rm=rm,
            force_rm=force_rm,
            network=network,
            platform=platform,
            add_hosts=add_host,
            cache_from=cache_from,
            cgroup_parent=cgroup_parent,
            cpu_period=cpu_period,
            cpu_quota=cpu_quota,
            cpu_shares=cpu_shares,
            cpuset_cpus=cpuset_cpus,
            cpuset_mems=cpuset_mems,
            isolation=isolation,
            memory=memory,
            memory_swap=memory_swap,
            shm_size=shm_size,
            squash=squash,
            ulimits=ulimit,
        ),
    )


@command("builder prune", "Remove build cache", usage="", max_args=0, notice=LEGACY_NOTICE)
def builder_prune(
    env: Env,
    all: Annotated[
        bool, Opt("-a", "--all", help="Remove all unused build cache, not just dangling ones")
    ] = False,
    filter: Annotated[
        list[str],
        _parsers.filter_opt("until=24h"),
    ] = [],  # noqa: B006
    force: Annotated[bool, Opt("-f", "--force", help="Do not prompt for confirmation")] = False,
    keep_storage: Annotated[
        int,
        Opt(
            "--keep-storage",
            metavar="bytes",
            parse=_bytes,
            help="Amount of disk space to keep for cache",
        ),
    ] = 0,
) -> int:
    from cli.actions import build as act

    return act.prune(env, all, force, filter, keep_storage)

"""Container commands and their docker flags (management form `container X` and shortcuts).
Each function only turns its flags into an options record and calls its cli.actions module."""

from cli._command import Annotated, Arg, Opt, command
from cli.commands import _parsers
from cli.env import Env

_FILTER = _parsers.filter_flag()


@command(
    "container ls", "List containers", aliases=("container list", "container ps", "ps"), max_args=0
)
def ps(
    env: Env,
    all: Annotated[
        bool, Opt("-a", "--all", help="Show all containers (default shows just running)")
    ] = False,
    filter: Annotated[list[str], _FILTER] = [],  # noqa: B006 - the parser builds new lists
    format: Annotated[str, Opt("--format", help=_parsers.FORMAT_TABLE_HELP)] = "",
    last: Annotated[
        int, Opt("-n", "--last", help="Show n last created containers (includes all states)")
    ] = -1,
    latest: Annotated[
        bool, Opt("-l", "--latest", help="Show the latest created container (includes all states)")
    ] = False,
    no_trunc: Annotated[bool, Opt("--no-trunc", help="Don't truncate output")] = False,
    quiet: Annotated[bool, Opt("-q", "--quiet", help="Only display container IDs")] = False,
    size: Annotated[bool, Opt("-s", "--size", help="Display total file sizes")] = False,
) -> int:
    from cli.actions import ps as act

    return act.ps(
        env,
        act.PsOptions(
            all=all,
            quiet=quiet,
            size=size,
            last=last,
            latest=latest,
            no_trunc=no_trunc,
            filters=filter,
            format=format,
        ),
    )


@command(
    "container inspect",
    "Display detailed information on one or more containers",
    usage="[OPTIONS] CONTAINER [CONTAINER...]",
    min_args=1,
)
def container_inspect(
    env: Env,
    containers: Annotated[list[str], Arg("CONTAINER")],
    format: Annotated[str, Opt("-f", "--format", help=_parsers.FORMAT_HELP)] = "",
    size: Annotated[bool, Opt("-s", "--size", help="Display total file sizes")] = False,
) -> int:
    from cli.actions import inspect as act

    return act.inspect(env, act.InspectOptions(containers, format, size, "container"))


@command(
    "inspect",
    "Return low-level information on Docker objects",
    usage="[OPTIONS] NAME|ID [NAME|ID...]",
    min_args=1,
)
def inspect(
    env: Env,
    refs: Annotated[list[str], Arg("NAME|ID")],
    format: Annotated[str, Opt("-f", "--format", help=_parsers.FORMAT_HELP)] = "",
    size: Annotated[
        bool, Opt("-s", "--size", help="Display total file sizes if the type is container")
    ] = False,
    type: Annotated[str, Opt("--type", help="Only inspect objects of the given type")] = "",
) -> int:
    from cli.actions import inspect as act

    return act.inspect(env, act.InspectOptions(refs, format, size, type))


@command(
    "container logs",
    "Fetch the logs of a container",
    usage="[OPTIONS] CONTAINER",
    aliases=("logs",),
    min_args=1,
    max_args=1,
)
def logs(
    env: Env,
    container: Annotated[str, Arg("CONTAINER")],
    details: Annotated[bool, Opt("--details", help="Show extra details provided to logs")] = False,
    follow: Annotated[bool, Opt("-f", "--follow", help="Follow log output")] = False,
    since: Annotated[
        str,
        Opt(
            "--since",
            help="Show logs since timestamp (e.g. "
            '"2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
        ),
    ] = "",
    tail: Annotated[
        str, Opt("-n", "--tail", help="Number of lines to show from the end of the logs")
    ] = "all",
    timestamps: Annotated[bool, Opt("-t", "--timestamps", help="Show timestamps")] = False,
    until: Annotated[
        str,
        Opt(
            "--until",
            help="Show logs before a timestamp (e.g. "
            '"2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
        ),
    ] = "",
) -> int:
    from cli.actions import logs as act

    return act.logs(
        env, act.LogsOptions(container, follow, tail, since, until, timestamps, details)
    )


# -- create / run: their common flags are cli.commands._container_flags.container_flags --------

_SHARED = "cli.commands._container_flags:container_flags"


@command(
    "container create",
    "Create a new container",
    usage="[OPTIONS] IMAGE [COMMAND] [ARG...]",
    aliases=("create",),
    min_args=1,
    interspersed=False,
    shared=_SHARED,
)
def create(
    env: Env,
    image: Annotated[str, Arg("IMAGE")],
    command: Annotated[list[str], Arg("[COMMAND] [ARG...]")] = [],  # noqa: B006
    pull: Annotated[
        str,
        # sic: docker 28's help has the stray `|`
        Opt("--pull", help='Pull image before creating ("always", "|missing", "never")'),
    ] = "missing",
    **flags: object,
) -> int:
    from cli.actions import create as act

    config = act.ContainerConfig.of_flags(image, command, flags)
    return act.create(env, act.CreateOptions(config, pull))


@command(
    "container run",
    "Create and run a new container from an image",
    usage="[OPTIONS] IMAGE [COMMAND] [ARG...]",
    aliases=("run",),
    min_args=1,
    interspersed=False,
    shared=_SHARED,
)
def run(
    env: Env,
    image: Annotated[str, Arg("IMAGE")],
    command: Annotated[list[str], Arg("[COMMAND] [ARG...]")] = [],  # noqa: B006
    detach: Annotated[
        bool, Opt("-d", "--detach", help="Run container in background and print container ID")
    ] = False,
    detach_keys: Annotated[
        str, Opt("--detach-keys", help="Override the key sequence for detaching a container")
    ] = "",
    pull: Annotated[
        str, Opt("--pull", help='Pull image before running ("always", "missing", "never")')
    ] = "missing",
    sig_proxy: Annotated[
        bool,
        Opt("--sig-proxy", show_default="true", help="Proxy received signals to the process"),
    ] = True,
    **flags: object,
) -> int:
    from cli.actions import run as act

    config = act.ContainerConfig.of_flags(image, command, flags)
    return act.run(env, act.RunOptions(config, detach, sig_proxy, detach_keys, pull))


@command(
    "container start",
    "Start one or more stopped containers",
    usage="[OPTIONS] CONTAINER [CONTAINER...]",
    aliases=("start",),
    min_args=1,
)
def start(
    env: Env,
    containers: Annotated[list[str], Arg("CONTAINER")],
    attach: Annotated[
        bool, Opt("-a", "--attach", help="Attach STDOUT/STDERR and forward signals")
    ] = False,
    detach_keys: Annotated[
        str, Opt("--detach-keys", help="Override the key sequence for detaching a container")
    ] = "",
    interactive: Annotated[
        bool, Opt("-i", "--interactive", help="Attach container's STDIN")
    ] = False,
) -> int:
    from cli.actions import lifecycle as act

    return act.start(env, act.StartOptions(containers, attach, interactive, detach_keys))


_TIME = Opt("-t", "--timeout", metavar="int", help="Seconds to wait before killing the container")
_SIGNAL = Opt("-s", "--signal", help="Signal to send to the container")


@command(
    "container stop",
    "Stop one or more running containers",
    usage="[OPTIONS] CONTAINER [CONTAINER...]",
    aliases=("stop",),
    min_args=1,
)
def stop(
    env: Env,
    containers: Annotated[list[str], Arg("CONTAINER")],
    signal: Annotated[str, _SIGNAL] = "",
    timeout: Annotated[int | None, _TIME] = None,
) -> int:
    from cli.actions import lifecycle as act

    return act.stop(env, act.StopOptions(containers, timeout, signal))


@command(
    "container restart",
    "Restart one or more containers",
    usage="[OPTIONS] CONTAINER [CONTAINER...]",
    aliases=("restart",),
    min_args=1,
)
def restart(
    env: Env,
    containers: Annotated[list[str], Arg("CONTAINER")],
    signal: Annotated[str, _SIGNAL] = "",
    timeout: Annotated[int | None, _TIME] = None,
) -> int:
    from cli.actions import lifecycle as act

    return act.restart(env, act.StopOptions(containers, timeout, signal))


@command(
    "container kill",
    "Kill one or more running containers",
    usage="[OPTIONS] CONTAINER [CONTAINER...]",
    aliases=("kill",),
    min_args=1,
)
def kill(
    env: Env,
    containers: Annotated[list[str], Arg("CONTAINER")],
    signal: Annotated[str, _SIGNAL] = "",
) -> int:
    from cli.actions import lifecycle as act

    return act.kill(env, containers, signal)


@command(
    "container rm",
    "Remove one or more containers",
    usage="[OPTIONS] CONTAINER [CONTAINER...]",
    aliases=("container remove", "rm"),
    min_args=1,
)
def rm(
    env: Env,
    containers: Annotated[list[str], Arg("CONTAINER")],
    force: Annotated[
        bool, Opt("-f", "--force", help="Force the removal of a running container (uses SIGKILL)")
    ] = False,
    link: Annotated[bool, Opt("-l", "--link", help="Remove the specified link")] = False,
    volumes: Annotated[
        bool, Opt("-v", "--volumes", help="Remove anonymous volumes associated with the container")
    ] = False,
) -> int:
    from cli.actions import lifecycle as act

    return act.rm(env, containers, force, volumes, link)


@command(
    "container pause",
    "Pause all processes within one or more containers",
    usage="CONTAINER [CONTAINER...]",
    aliases=("pause",),
    min_args=1,
)
def pause(env: Env, containers: Annotated[list[str], Arg("CONTAINER")]) -> int:
    from cli.actions import lifecycle as act

    return act.pause(env, containers)


@command(
    "container unpause",
    "Unpause all processes within one or more containers",
    usage="CONTAINER [CONTAINER...]",
    aliases=("unpause",),
    min_args=1,
)
def unpause(env: Env, containers: Annotated[list[str], Arg("CONTAINER")]) -> int:
    from cli.actions import lifecycle as act

    return act.unpause(env, containers)


@command(
    "container wait",
    "Block until one or more containers stop, then print their exit codes",
    usage="CONTAINER [CONTAINER...]",
    aliases=("wait",),
    min_args=1,
)
def wait(env: Env, containers: Annotated[list[str], Arg("CONTAINER")]) -> int:
    from cli.actions import lifecycle as act

    return act.wait(env, containers)


@command(
    "container rename",
    "Rename a container",
    usage="CONTAINER NEW_NAME",
    aliases=("rename",),
    min_args=2,
    max_args=2,
)
def rename(
    env: Env,
    container: Annotated[str, Arg("CONTAINER")],
    new_name: Annotated[str, Arg("NEW_NAME")],
) -> int:
    from cli.actions import lifecycle as act

    return act.rename(env, container, new_name)


@command(
    "container top",
    "Display the running processes of a container",
    usage="CONTAINER [ps OPTIONS]",
    aliases=("top",),
    min_args=1,
    interspersed=False,
)
def top(
    env: Env,
    container: Annotated[str, Arg("CONTAINER")],
    ps_args: Annotated[list[str], Arg("[ps OPTIONS]")] = [],  # noqa: B006
) -> int:
    from cli.actions import stats as act

    return act.top(env, container, ps_args)


@command("container prune", "Remove all stopped containers", max_args=0)
def prune(
    env: Env,
    filter: Annotated[
        list[str],
        _parsers.filter_opt("until=<timestamp>"),
    ] = [],  # noqa: B006
    force: Annotated[bool, Opt("-f", "--force", help="Do not prompt for confirmation")] = False,
) -> int:
    from cli.actions import lifecycle as act

    return act.prune(env, force, filter)


@command(
    "container exec",
    "Execute a command in a running container",
    usage="[OPTIONS] CONTAINER COMMAND [ARG...]",
    aliases=("exec",),
    min_args=2,
    interspersed=False,
)
def exec_(
    env: Env,
    container: Annotated[str, Arg("CONTAINER")],
    command: Annotated[list[str], Arg("COMMAND [ARG...]")],
    detach: Annotated[
        bool, Opt("-d", "--detach", help="Detached mode: run command in the background")
    ] = False,
    detach_keys: Annotated[
        str, Opt("--detach-keys", help="Override the key sequence for detaching a container")
    ] = "",
    env_: Annotated[
        list[str], Opt("-e", "--env", metavar="list", help="Set environment variables")
    ] = [],  # noqa: B006
    env_file: Annotated[
        list[str], Opt("--env-file", metavar="list", help="Read in a file of environment variables")
    ] = [],  # noqa: B006
    interactive: Annotated[
        bool, Opt("-i", "--interactive", help="Keep STDIN open even if not attached")
    ] = False,
    privileged: Annotated[
        bool, Opt("--privileged", help="Give extended privileges to the command")
    ] = False,
    tty: Annotated[bool, Opt("-t", "--tty", help="Allocate a pseudo-TTY")] = False,
    user: Annotated[
        str, Opt("-u", "--user", help='Username or UID (format: "<name|uid>[:<group|gid>]")')
    ] = "",
    workdir: Annotated[
        str, Opt("-w", "--workdir", help="Working directory inside the container")
    ] = "",
) -> int:
    from cli.actions import exec as act

    return act.exec_(
        env,
        act.ExecOptions(
            container,
            command,
            interactive,
            tty,
            detach,
            env_,
            env_file,
            workdir,
            user,
            privileged,
            detach_keys,
        ),
    )


@command(
    "container attach",
    "Attach local standard input, output, and error streams to a running container",
    usage="[OPTIONS] CONTAINER",
    aliases=("attach",),
    min_args=1,
    max_args=1,
)
def attach(
    env: Env,
    container: Annotated[str, Arg("CONTAINER")],
    detach_keys: Annotated[
        str, Opt("--detach-keys", help="Override the key sequence for detaching a container")
    ] = "",
    no_stdin: Annotated[bool, Opt("--no-stdin", help="Do not attach STDIN")] = False,
    sig_proxy: Annotated[
        bool,
        Opt("--sig-proxy", show_default="true", help="Proxy all received signals to the process"),
    ] = True,
) -> int:
    from cli.actions import attach as act

    return act.attach(env, container, no_stdin, sig_proxy, detach_keys)


@command(
    "container cp",
    "Copy files/folders between a container and the local filesystem",
    usage="[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
    "\tdocker cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    aliases=("cp",),
    min_args=2,
    max_args=2,
    long="Copy files/folders between a container and the local filesystem\n\n"
    "Use '-' as the source to read a tar archive from stdin\n"
    "and extract it to a directory destination in a container.\n"
    "Use '-' as the destination to stream a tar archive of a\n"
    "container source to stdout.",
)
def cp(
    env: Env,
    source: Annotated[str, Arg("SRC")],
    destination: Annotated[str, Arg("DEST")],
    archive: Annotated[
        bool, Opt("-a", "--archive", help="Archive mode (copy all uid/gid information)")
    ] = False,
    follow_link: Annotated[
        bool, Opt("-L", "--follow-link", help="Always follow symbol link in SRC_PATH")
    ] = False,
    quiet: Annotated[
        bool | None,
        Opt(
            "-q",
            "--quiet",
            help="Suppress progress output during copy. Progress output is automatically "
            "suppressed if no terminal is attached",
        ),
    ] = None,
) -> int:
    from cli.actions import copy

    return copy.cp(env, copy.CopyOptions(source, destination, follow_link, archive, quiet))


@command(
    "container diff",
    "Inspect changes to files or directories on a container's filesystem",
    usage="CONTAINER",
    aliases=("diff",),
    min_args=1,
    max_args=1,
)
def diff(env: Env, container: Annotated[str, Arg("CONTAINER")]) -> int:
    from cli.actions import changes as act

    return act.diff(env, container)


@command(
    "container export",
    "Export a container's filesystem as a tar archive",
    usage="[OPTIONS] CONTAINER",
    aliases=("export",),
    min_args=1,
    max_args=1,
)
def export(
    env: Env,
    container: Annotated[str, Arg("CONTAINER")],
    output: Annotated[str, Opt("-o", "--output", help="Write to a file, instead of STDOUT")] = "",
) -> int:
    from cli.actions import copy

    return copy.export(env, container, output)


@command(
    "container commit",
    "Create a new image from a container's changes",
    usage="[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    aliases=("commit",),
    min_args=1,
    max_args=2,
)
def commit(
    env: Env,
    container: Annotated[str, Arg("CONTAINER")],
    reference: Annotated[str, Arg("[REPOSITORY[:TAG]]")] = "",
    author: Annotated[
        str,
        Opt("-a", "--author", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
    ] = "",
    change: Annotated[
        list[str],
        Opt(
            "-c",
            "--change",
            metavar="list",
            help="Apply Dockerfile instruction to the created image",
        ),
    ] = [],  # noqa: B006
    message: Annotated[str, Opt("-m", "--message", help="Commit message")] = "",
    pause: Annotated[
        bool, Opt("-p", "--pause", show_default="true", help="Pause container during commit")
    ] = True,
) -> int:
    from cli.actions import changes as act

    return act.commit(env, act.CommitOptions(container, reference, author, message, change, pause))


@command(
    "container port",
    "List port mappings or a specific mapping for the container",
    usage="CONTAINER [PRIVATE_PORT[/PROTO]]",
    aliases=("port",),
    min_args=1,
    max_args=2,
)
def port(
    env: Env,
    container: Annotated[str, Arg("CONTAINER")],
    private_port: Annotated[str, Arg("[PRIVATE_PORT[/PROTO]]")] = "",
) -> int:
    from cli.actions import port as act

    return act.port(env, container, private_port)


@command(
    "container stats",
    "Display a live stream of container(s) resource usage statistics",
    usage="[OPTIONS] [CONTAINER...]",
    aliases=("stats",),
)
def stats(
    env: Env,
    containers: Annotated[list[str], Arg("[CONTAINER...]")] = [],  # noqa: B006
    all: Annotated[
        bool, Opt("-a", "--all", help="Show all containers (default shows just running)")
    ] = False,
    format: Annotated[str, Opt("--format", help=_parsers.FORMAT_TABLE_HELP)] = "",
    no_stream: Annotated[
        bool,
        Opt("--no-stream", help="Disable streaming stats and only pull the first result"),
    ] = False,
    no_trunc: Annotated[bool, Opt("--no-trunc", help="Do not truncate output")] = False,
) -> int:
    from cli.actions import stats as act

    return act.stats(env, act.StatsOptions(containers, all, no_stream, no_trunc, format))


_CPU_HELP = "Limit CPU CFS (Completely Fair Scheduler) "
_I = "int"


@command(
    "container update",
    "Update configuration of one or more containers",
    usage="[OPTIONS] CONTAINER [CONTAINER...]",
    aliases=("update",),
    min_args=1,
)
def update(
    env: Env,
    containers: Annotated[list[str], Arg("CONTAINER")],
    blkio_weight: Annotated[
        int | None,
        Opt(
            "--blkio-weight",
            metavar="uint16",
            parse=_parsers.uint16,
            show_default="0",
            help="Block IO (relative weight), between 10 and 1000, or 0 to disable",
        ),
    ] = None,
    cpu_period: Annotated[
        int | None, Opt("--cpu-period", metavar=_I, help=_CPU_HELP + "period")
    ] = None,
    cpu_quota: Annotated[
        int | None, Opt("--cpu-quota", metavar=_I, help=_CPU_HELP + "quota")
    ] = None,
    cpu_rt_period: Annotated[
        int | None,
        Opt("--cpu-rt-period", metavar=_I, help="Limit the CPU real-time period in microseconds"),
    ] = None,
    cpu_rt_runtime: Annotated[
        int | None,
        Opt("--cpu-rt-runtime", metavar=_I, help="Limit the CPU real-time runtime in microseconds"),
    ] = None,
    cpu_shares: Annotated[
        int | None, Opt("-c", "--cpu-shares", metavar=_I, help="CPU shares (relative weight)")
    ] = None,
    cpus: Annotated[
        int | None,
        Opt("--cpus", metavar="decimal", parse=_parsers.cpus, help="Number of CPUs"),
    ] = None,
    cpuset_cpus: Annotated[
        str | None, Opt("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    ] = None,
    cpuset_mems: Annotated[
        str | None, Opt("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
    ] = None,
    memory: Annotated[
        int | None,
        Opt("-m", "--memory", metavar="bytes", parse=_parsers.ram_bytes, help="Memory limit"),
    ] = None,
    memory_reservation: Annotated[
        int | None,
        Opt(
            "--memory-reservation",
            metavar="bytes",
            parse=_parsers.ram_bytes,
            help="Memory soft limit",
        ),
    ] = None,
    memory_swap: Annotated[
        int | None,
        Opt(
            "--memory-swap",
            metavar="bytes",
            parse=_parsers.ram_bytes,
            help="Swap limit equal to memory plus swap: -1 to enable unlimited swap",
        ),
    ] = None,
    pids_limit: Annotated[
        int | None,
        Opt("--pids-limit", metavar=_I, help="Tune container pids limit (set -1 for unlimited)"),
    ] = None,
    restart: Annotated[
        str | None, Opt("--restart", help="Restart policy to apply when a container exits")
    ] = None,
) -> int:
    from cli.actions import update as act

    resources = {
        "BlkioWeight": blkio_weight,
        "CpuPeriod": cpu_period,
        "CpuQuota": cpu_quota,
        "CpuRealtimePeriod": cpu_rt_period,
        "CpuRealtimeRuntime": cpu_rt_runtime,
        "CpuShares": cpu_shares,
        "NanoCpus": cpus,
        "CpusetCpus": cpuset_cpus,
        "CpusetMems": cpuset_mems,
        "Memory": memory,
        "MemoryReservation": memory_reservation,
        "MemorySwap": memory_swap,
        "PidsLimit": pids_limit,
    }
    return act.update(env, containers, resources, restart)

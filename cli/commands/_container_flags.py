"""The flags `create` and `run` share (docker's containerOptions), declared once: both commands
name this function as their `shared` flags, and get the values as keyword arguments named as
its parameters. Help texts, value names and defaults are docker 28's.

Only a command that is run imports this module (`dockerpy ps` does not pay for ~90 flags).
"""

from cli._command import Annotated, Opt
from cli.commands import _container_values as v
from cli.commands import _parsers as p

_L = "list"
_DEV = "(default [])"
_CGROUPNS_HELP = (
    "Cgroup namespace to use (host|private)\n"
    "'host':    Run the container in the Docker host's cgroup namespace\n"
    "'private': Run the container in its own private cgroup namespace\n"
    "'':        Use the cgroup namespace as configured by the\n"
    "           default-cgroupns-mode option on the daemon (default)"
)


def _list(*decls: str, help: str, parse: object = None, metavar: str = _L, **kw: str) -> Opt:
    return Opt(*decls, metavar=metavar, help=help, parse=parse, **kw)  # type: ignore[arg-type]


def _duration(name: str, help: str) -> Opt:
    return Opt(name, metavar="duration", parse=p.duration_ns, show_default="0s", help=help)


def _bytes(*decls: str, help: str, os_type: str = "") -> Opt:
    return Opt(*decls, metavar="bytes", parse=p.ram_bytes, help=help, os_type=os_type)


def container_flags(
    *,
    add_host: Annotated[
        list[str],
        _list("--add-host", parse=v.extra_host, help="Add a custom host-to-IP mapping (host:ip)"),
    ] = [],  # noqa: B006 - the parser builds new lists
    annotation: Annotated[
        list[tuple[str, str]],
        _list(
            "--annotation",
            metavar="map",
            parse=v.annotation,
            show_default="map[]",
            help="Add an annotation to the container (passed through to the OCI runtime)",
        ),
    ] = [],  # noqa: B006
    attach: Annotated[
        list[str],
        _list("-a", "--attach", parse=v.attach, help="Attach to STDIN, STDOUT or STDERR"),
    ] = [],  # noqa: B006
    blkio_weight: Annotated[
        int,
        Opt(
            "--blkio-weight",
            metavar="uint16",
            parse=p.uint16,
            help="Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)",
        ),
    ] = 0,
    blkio_weight_device: Annotated[
        list[dict],
        _list(
            "--blkio-weight-device",
            parse=v.weight_device,
            show_default="[]",
            help="Block IO weight (relative device weight)",
        ),
    ] = [],  # noqa: B006
    cap_add: Annotated[list[str], _list("--cap-add", help="Add Linux capabilities")] = [],  # noqa: B006
    cap_drop: Annotated[list[str], _list("--cap-drop", help="Drop Linux capabilities")] = [],  # noqa: B006
    cgroup_parent: Annotated[
        str, Opt("--cgroup-parent", help="Optional parent cgroup for the container")
    ] = "",
    cgroupns: Annotated[str, Opt("--cgroupns", help=_CGROUPNS_HELP)] = "",
    cidfile: Annotated[str, Opt("--cidfile", help="Write the container ID to the file")] = "",
    cpu_count: Annotated[
        int, Opt("--cpu-count", help="CPU count (Windows only)", os_type="windows")
    ] = 0,
    cpu_percent: Annotated[
        int, Opt("--cpu-percent", help="CPU percent (Windows only)", os_type="windows")
    ] = 0,
    cpu_period: Annotated[
        int, Opt("--cpu-period", help="Limit CPU CFS (Completely Fair Scheduler) period")
    ] = 0,
    cpu_quota: Annotated[
        int, Opt("--cpu-quota", help="Limit CPU CFS (Completely Fair Scheduler) quota")
    ] = 0,
    cpu_rt_period: Annotated[
        int, Opt("--cpu-rt-period", help="Limit CPU real-time period in microseconds")
    ] = 0,
    cpu_rt_runtime: Annotated[
        int, Opt("--cpu-rt-runtime", help="Limit CPU real-time runtime in microseconds")
    ] = 0,
    cpu_shares: Annotated[int, Opt("-c", "--cpu-shares", help="CPU shares (relative weight)")] = 0,
    cpus: Annotated[int, Opt("--cpus", metavar="decimal", parse=p.cpus, help="Number of CPUs")] = 0,
    cpuset_cpus: Annotated[
        str, Opt("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    ] = "",
    cpuset_mems: Annotated[
        str, Opt("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
    ] = "",
    device: Annotated[list[str], _list("--device", help="Add a host device to the container")] = [],  # noqa: B006
    device_cgroup_rule: Annotated[
        list[str],
        _list(
            "--device-cgroup-rule",
            parse=v.device_cgroup_rule,
            help="Add a rule to the cgroup allowed devices list",
        ),
    ] = [],  # noqa: B006
    device_read_bps: Annotated[
        list[dict],
        _list(
            "--device-read-bps",
            parse=v.bps_device,
            show_default="[]",
            help="Limit read rate (bytes per second) from a device",
        ),
    ] = [],  # noqa: B006
    device_read_iops: Annotated[
        list[dict],
        _list(
            "--device-read-iops",
            parse=v.iops_device,
            show_default="[]",
            help="Limit read rate (IO per second) from a device",
        ),
    ] = [],  # noqa: B006
    device_write_bps: Annotated[
        list[dict],
        _list(
            "--device-write-bps",
            parse=v.bps_device,
            show_default="[]",
            help="Limit write rate (bytes per second) to a device",
        ),
    ] = [],  # noqa: B006
    device_write_iops: Annotated[
        list[dict],
        _list(
            "--device-write-iops",
            parse=v.iops_device,
            show_default="[]",
            help="Limit write rate (IO per second) to a device",
        ),
    ] = [],  # noqa: B006
    disable_content_trust: Annotated[
        bool,
        Opt("--disable-content-trust", show_default="true", help="Skip image verification"),
    ] = True,
    dns: Annotated[
        list[str], _list("--dns", parse=v.ip_address, help="Set custom DNS servers")
    ] = [],  # noqa: B006
    dns_option: Annotated[
        list[str], _list("--dns-option", "--dns-opt", help="Set DNS options")
    ] = [],  # noqa: B006
    dns_search: Annotated[
        list[str],
        _list("--dns-search", parse=v.dns_search, help="Set custom DNS search domains"),
    ] = [],  # noqa: B006
    domainname: Annotated[str, Opt("--domainname", help="Container NIS domain name")] = "",
    entrypoint: Annotated[
        str | None, Opt("--entrypoint", help="Overwrite the default ENTRYPOINT of the image")
    ] = None,
    env_: Annotated[list[str], _list("-e", "--env", help="Set environment variables")] = [],  # noqa: B006
    env_file: Annotated[
        list[str], _list("--env-file", help="Read in a file of environment variables")
    ] = [],  # noqa: B006
    expose: Annotated[list[str], _list("--expose", help="Expose a port or a range of ports")] = [],  # noqa: B006
    gpus: Annotated[
        list[dict],
        _list(
            "--gpus",
            metavar="gpu-request",
            parse=v.gpus,
            help="GPU devices to add to the container ('all' to pass all GPUs)",
        ),
    ] = [],  # noqa: B006
    group_add: Annotated[
        list[str], _list("--group-add", help="Add additional groups to join")
    ] = [],  # noqa: B006
    health_cmd: Annotated[str, Opt("--health-cmd", help="Command to run to check health")] = "",
    health_interval: Annotated[
        int, _duration("--health-interval", "Time between running the check (ms|s|m|h)")
    ] = 0,
    health_retries: Annotated[
        int,
        Opt("--health-retries", help="Consecutive failures needed to report unhealthy"),
    ] = 0,
    health_start_interval: Annotated[
        int,
        _duration(
            "--health-start-interval",
            "Time between running the check during the start period (ms|s|m|h)",
        ),
    ] = 0,
    health_start_period: Annotated[
        int,
        _duration(
            "--health-start-period",
            "Start period for the container to initialize before starting health-retries "
            "countdown (ms|s|m|h)",
        ),
    ] = 0,
    health_timeout: Annotated[
        int,
        _duration("--health-timeout", "Maximum time to allow one check to run (ms|s|m|h)"),
    ] = 0,
    help: Annotated[bool, Opt("--help", help="Print usage")] = False,
    hostname: Annotated[str, Opt("-h", "--hostname", help="Container host name")] = "",
    init: Annotated[
        bool | None,
        Opt(
            "--init",
            help="Run an init inside the container that forwards signals and reaps processes",
        ),
    ] = None,
    interactive: Annotated[
        bool, Opt("-i", "--interactive", help="Keep STDIN open even if not attached")
    ] = False,
    io_maxbandwidth: Annotated[
        int,
        _bytes(
            "--io-maxbandwidth",
            help="Maximum IO bandwidth limit for the system drive (Windows only)",
            os_type="windows",
        ),
    ] = 0,
    io_maxiops: Annotated[
        int,
        Opt(
            "--io-maxiops",
            metavar="uint",
            parse=p.uint64,
            help="Maximum IOps limit for the system drive (Windows only)",
            os_type="windows",
        ),
    ] = 0,
    ip: Annotated[str, Opt("--ip", help="IPv4 address (e.g., 172.30.100.104)")] = "",
    ip6: Annotated[str, Opt("--ip6", help="IPv6 address (e.g., 2001:db8::33)")] = "",
    ipc: Annotated[str, Opt("--ipc", help="IPC mode to use")] = "",
    isolation: Annotated[str, Opt("--isolation", help="Container isolation technology")] = "",
    kernel_memory: Annotated[int, _bytes("--kernel-memory", help="Kernel memory limit")] = 0,
    label: Annotated[list[str], _list("-l", "--label", help="Set meta data on a container")] = [],  # noqa: B006
    label_file: Annotated[
        list[str], _list("--label-file", help="Read in a line delimited file of labels")
    ] = [],  # noqa: B006
    link: Annotated[
        list[str], _list("--link", parse=v.link, help="Add link to another container")
    ] = [],  # noqa: B006
    link_local_ip: Annotated[
        list[str],
        _list("--link-local-ip", help="Container IPv4/IPv6 link-local addresses"),
    ] = [],  # noqa: B006
    log_driver: Annotated[str, Opt("--log-driver", help="Logging driver for the container")] = "",
    log_opt: Annotated[list[str], _list("--log-opt", help="Log driver options")] = [],  # noqa: B006
    mac_address: Annotated[
        str, Opt("--mac-address", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)")
    ] = "",
    memory: Annotated[int, _bytes("-m", "--memory", help="Memory limit")] = 0,
    memory_reservation: Annotated[
        int, _bytes("--memory-reservation", help="Memory soft limit")
    ] = 0,
    memory_swap: Annotated[
        int,
        _bytes(
            "--memory-swap",
            help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
        ),
    ] = 0,
    memory_swappiness: Annotated[
        int,
        Opt("--memory-swappiness", help="Tune container memory swappiness (0 to 100)"),
    ] = -1,
    mount: Annotated[
        list[dict],
        _list(
            "--mount",
            metavar="mount",
            parse=v.mount,
            help="Attach a filesystem mount to the container",
        ),
    ] = [],  # noqa: B006
    name: Annotated[str, Opt("--name", help="Assign a name to the container")] = "",
    network: Annotated[
        list[str],
        _list("--network", "--net", metavar="network", help="Connect a container to a network"),
    ] = [],  # noqa: B006
    network_alias: Annotated[
        list[str],
        _list("--network-alias", "--net-alias", help="Add network-scoped alias for the container"),
    ] = [],  # noqa: B006
    no_healthcheck: Annotated[
        bool, Opt("--no-healthcheck", help="Disable any container-specified HEALTHCHECK")
    ] = False,
    oom_kill_disable: Annotated[bool, Opt("--oom-kill-disable", help="Disable OOM Killer")] = False,
    oom_score_adj: Annotated[
        int, Opt("--oom-score-adj", help="Tune host's OOM preferences (-1000 to 1000)")
    ] = 0,
    pid: Annotated[str, Opt("--pid", help="PID namespace to use")] = "",
    pids_limit: Annotated[
        int, Opt("--pids-limit", help="Tune container pids limit (set -1 for unlimited)")
    ] = 0,
    platform: Annotated[
        str, Opt("--platform", help="Set platform if server is multi-platform capable")
    ] = "",
    privileged: Annotated[
        bool, Opt("--privileged", help="Give extended privileges to this container")
    ] = False,
    publish: Annotated[
        list[str], _list("-p", "--publish", help="Publish a container's port(s) to the host")
    ] = [],  # noqa: B006
    publish_all: Annotated[
        bool, Opt("-P", "--publish-all", help="Publish all exposed ports to random ports")
    ] = False,
    quiet: Annotated[bool, Opt("-q", "--quiet", help="Suppress the pull output")] = False,
    read_only: Annotated[
        bool, Opt("--read-only", help="Mount the container's root filesystem as read only")
    ] = False,
    restart: Annotated[
        str,
        Opt(
            "--restart", show_default='"no"', help="Restart policy to apply when a container exits"
        ),
    ] = "",
    rm: Annotated[
        bool,
        Opt(
            "--rm",
            help="Automatically remove the container and its associated anonymous volumes "
            "when it exits",
        ),
    ] = False,
    runtime: Annotated[str, Opt("--runtime", help="Runtime to use for this container")] = "",
    security_opt: Annotated[list[str], _list("--security-opt", help="Security Options")] = [],  # noqa: B006
    shm_size: Annotated[int, _bytes("--shm-size", help="Size of /dev/shm")] = 0,
    stop_signal: Annotated[str, Opt("--stop-signal", help="Signal to stop the container")] = "",
    stop_timeout: Annotated[
        int | None, Opt("--stop-timeout", help="Timeout (in seconds) to stop a container")
    ] = None,
    storage_opt: Annotated[
        list[str], _list("--storage-opt", help="Storage driver options for the container")
    ] = [],  # noqa: B006
    sysctl: Annotated[
        list[tuple[str, str]],
        _list(
            "--sysctl", metavar="map", parse=v.sysctl, show_default="map[]", help="Sysctl options"
        ),
    ] = [],  # noqa: B006
    tmpfs: Annotated[list[str], _list("--tmpfs", help="Mount a tmpfs directory")] = [],  # noqa: B006
    tty: Annotated[bool, Opt("-t", "--tty", help="Allocate a pseudo-TTY")] = False,
    ulimit: Annotated[
        list[dict],
        _list(
            "--ulimit", metavar="ulimit", parse=v.ulimit, show_default="[]", help="Ulimit options"
        ),
    ] = [],  # noqa: B006
    use_api_socket: Annotated[
        bool, Opt("--use-api-socket", help="Bind mount Docker API socket and required auth")
    ] = False,
    user: Annotated[
        str, Opt("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
    ] = "",
    userns: Annotated[str, Opt("--userns", help="User namespace to use")] = "",
    uts: Annotated[str, Opt("--uts", help="UTS namespace to use")] = "",
    volume: Annotated[list[str], _list("-v", "--volume", help="Bind mount a volume")] = [],  # noqa: B006
    volume_driver: Annotated[
        str, Opt("--volume-driver", help="Optional volume driver for the container")
    ] = "",
    volumes_from: Annotated[
        list[str], _list("--volumes-from", help="Mount volumes from the specified container(s)")
    ] = [],  # noqa: B006
    workdir: Annotated[
        str, Opt("-w", "--workdir", help="Working directory inside the container")
    ] = "",
) -> None:
    """Declarations only: the values reach create's and run's functions as keywords."""

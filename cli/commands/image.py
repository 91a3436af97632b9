"""Image commands and their docker flags (`image X` and the shortcuts images, tag, rmi,
import, load)."""

from cli._command import Annotated, Arg, Opt, command
from cli.commands import _parsers
from cli.env import Env


@command(
    "image ls",
    "List images",
    usage="[OPTIONS] [REPOSITORY[:TAG]]",
    aliases=("image list", "images"),
    max_args=1,
)
def images(
    env: Env,
    reference: Annotated[str, Arg("[REPOSITORY[:TAG]]")] = "",
    all: Annotated[
        bool, Opt("-a", "--all", help="Show all images (default hides intermediate images)")
    ] = False,
    digests: Annotated[bool, Opt("--digests", help="Show digests")] = False,
    filter: Annotated[
        list[str],
        _parsers.filter_flag(),
    ] = [],  # noqa: B006
    format: Annotated[str, Opt("--format", help=_parsers.FORMAT_TABLE_HELP)] = "",
    no_trunc: Annotated[bool, Opt("--no-trunc", help="Don't truncate output")] = False,
    quiet: Annotated[bool, Opt("-q", "--quiet", help="Only show image IDs")] = False,
) -> int:
    from cli.actions import image as act

    return act.images(
        env, act.ImagesOptions(reference, all, quiet, digests, no_trunc, filter, format)
    )


@command(
    "image inspect",
    "Display detailed information on one or more images",
    usage="[OPTIONS] IMAGE [IMAGE...]",
    min_args=1,
)
def image_inspect(
    env: Env,
    images_: Annotated[list[str], Arg("IMAGE")],
    format: Annotated[str, Opt("-f", "--format", help=_parsers.FORMAT_HELP)] = "",
    platform: Annotated[
        str,
        Opt(
            "--platform",
            help="Inspect a specific platform of the multi-platform image.\n"
            "If the image or the server is not multi-platform capable, the command will "
            "error out if the platform does not match.\n"
            "'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
        ),
    ] = "",
) -> int:
    from cli.actions import inspect as act

    return act.inspect(env, act.InspectOptions(images_, format, False, "image", platform))


@command(
    "image tag",
    "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    usage="SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    aliases=("tag",),
    min_args=2,
    max_args=2,
)
def tag(
    env: Env,
    source: Annotated[str, Arg("SOURCE_IMAGE[:TAG]")],
    target: Annotated[str, Arg("TARGET_IMAGE[:TAG]")],
) -> int:
    from cli.actions import image as act

    return act.tag(env, source, target)


@command(
    "image rm",
    "Remove one or more images",
    usage="[OPTIONS] IMAGE [IMAGE...]",
    aliases=("image remove", "rmi"),
    min_args=1,
)
def rmi(
    env: Env,
    images_: Annotated[list[str], Arg("IMAGE")],
    force: Annotated[bool, Opt("-f", "--force", help="Force removal of the image")] = False,
    no_prune: Annotated[bool, Opt("--no-prune", help="Do not delete untagged parents")] = False,
    platform: Annotated[
        list[str],
        Opt(
            "--platform",
            metavar="strings",
            help='Remove only the given platform variant. Formatted as "os[/arch[/variant]]" '
            '(e.g., "linux/amd64")',
        ),
    ] = [],  # noqa: B006
) -> int:
    from cli.actions import image as act

    platforms = [p for value in platform for p in value.split(",") if p]  # a StringSlice
    return act.rmi(env, images_, force, no_prune, platforms)


@command(
    "image import",
    "Import the contents from a tarball to create a filesystem image",
    usage="[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    aliases=("import",),
    min_args=1,
    max_args=2,
)
def import_(
    env: Env,
    source: Annotated[str, Arg("file|URL|-")],
    reference: Annotated[str, Arg("[REPOSITORY[:TAG]]")] = "",
    change: Annotated[
        list[str],
        Opt(
            "-c",
            "--change",
            metavar="list",
            help="Apply Dockerfile instruction to the created image",
        ),
    ] = [],  # noqa: B006
    message: Annotated[
        str, Opt("-m", "--message", help="Set commit message for imported image")
    ] = "",
    platform: Annotated[
        str, Opt("--platform", help="Set platform if server is multi-platform capable")
    ] = "",
) -> int:
    from cli.actions import image as act

    return act.import_(env, act.ImportOptions(source, reference, message, change, platform))


@command("image load", "Load an image from a tar archive or STDIN", aliases=("load",), max_args=0)
def load(
    env: Env,
    input: Annotated[
        str, Opt("-i", "--input", help="Read from tar archive file, instead of STDIN")
    ] = "",
    platform: Annotated[
        str,
        Opt(
            "--platform",
            help='Load only the given platform variant. Formatted as "os[/arch[/variant]]" '
            '(e.g., "linux/amd64")',
        ),
    ] = "",
    quiet: Annotated[bool, Opt("-q", "--quiet", help="Suppress the load output")] = False,
) -> int:
    from cli.actions import image as act

    return act.load(env, input, quiet, platform)


_CONTENT_TRUST = Opt(
    "--disable-content-trust",
    help="Skip image verification",
    show_default="true",
)


@command(
    "image pull",
    "Download an image from a registry",
    usage="[OPTIONS] NAME[:TAG|@DIGEST]",
    aliases=("pull",),
    min_args=1,
    max_args=1,
)
def pull(
    env: Env,
    name: Annotated[str, Arg("NAME[:TAG|@DIGEST]")],
    all_tags: Annotated[
        bool, Opt("-a", "--all-tags", help="Download all tagged images in the repository")
    ] = False,
    disable_content_trust: Annotated[bool, _CONTENT_TRUST] = True,
    platform: Annotated[
        str, Opt("--platform", help="Set platform if server is multi-platform capable")
    ] = "",
    quiet: Annotated[bool, Opt("-q", "--quiet", help="Suppress verbose output")] = False,
) -> int:
    from cli.actions import image as act

    return act.pull(env, name, all_tags, quiet, platform)


@command(
    "image push",
    "Upload an image to a registry",
    usage="[OPTIONS] NAME[:TAG]",
    aliases=("push",),
    min_args=1,
    max_args=1,
)
def push(
    env: Env,
    name: Annotated[str, Arg("NAME[:TAG]")],
    all_tags: Annotated[
        bool, Opt("-a", "--all-tags", help="Push all tags of an image to the repository")
    ] = False,
    disable_content_trust: Annotated[
        bool, Opt("--disable-content-trust", help="Skip image signing", show_default="true")
    ] = True,
    platform: Annotated[
        str,
        Opt(
            "--platform",
            help="Push a platform-specific manifest as a single-platform image to the "
            "registry.\nImage index won't be pushed, meaning that other manifests, including "
            "attestations won't be preserved.\n'os[/arch[/variant]]': Explicit platform (eg. "
            "linux/amd64)",
        ),
    ] = "",
    quiet: Annotated[bool, Opt("-q", "--quiet", help="Suppress verbose output")] = False,
) -> int:
    from cli.actions import image as act

    return act.push(env, name, all_tags, quiet, platform)


@command(
    "image save",
    "Save one or more images to a tar archive (streamed to STDOUT by default)",
    usage="[OPTIONS] IMAGE [IMAGE...]",
    aliases=("save",),
    min_args=1,
)
def save(
    env: Env,
    images_: Annotated[list[str], Arg("IMAGE")],
    output: Annotated[str, Opt("-o", "--output", help="Write to a file, instead of STDOUT")] = "",
    platform: Annotated[
        str,
        Opt(
            "--platform",
            help='Save only the given platform variant. Formatted as "os[/arch[/variant]]" '
            '(e.g., "linux/amd64")',
        ),
    ] = "",
) -> int:
    from cli.actions import image as act

    return act.save(env, images_, output, platform)


@command(
    "image history",
    "Show the history of an image",
    usage="[OPTIONS] IMAGE",
    aliases=("history",),
    min_args=1,
    max_args=1,
)
def history(
    env: Env,
    image: Annotated[str, Arg("IMAGE")],
    format: Annotated[str, Opt("--format", help=_parsers.FORMAT_TABLE_HELP)] = "",
    human: Annotated[
        bool,
        Opt(
            "-H",
            "--human",
            help="Print sizes and dates in human readable format",
            show_default="true",
        ),
    ] = True,
    no_trunc: Annotated[bool, Opt("--no-trunc", help="Don't truncate output")] = False,
    platform: Annotated[
        str,
        Opt(
            "--platform",
            help='Show history for the given platform. Formatted as "os[/arch[/variant]]" '
            '(e.g., "linux/amd64")',
        ),
    ] = "",
    quiet: Annotated[bool, Opt("-q", "--quiet", help="Only show image IDs")] = False,
) -> int:
    from cli.actions import image as act

    return act.history(env, image, human, no_trunc, quiet, format, platform)


@command("image prune", "Remove unused images", max_args=0)
def image_prune(
    env: Env,
    all: Annotated[
        bool, Opt("-a", "--all", help="Remove all unused images, not just dangling ones")
    ] = False,
    filter: Annotated[
        list[str],
        _parsers.filter_opt("until=<timestamp>"),
    ] = [],  # noqa: B006
    force: Annotated[bool, Opt("-f", "--force", help="Do not prompt for confirmation")] = False,
) -> int:
    from cli.actions import image as act

    return act.prune(env, all, force, filter)

"""Image commands and their docker flags (`image X` and the shortcuts images, tag, rmi,
import, load)."""

from typing import Annotated

from cli._command import Arg, Opt, command
from cli.commands import _parsers
from cli.commands.container import _FORMAT_HELP, _FORMAT_TABLE_HELP
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
        Opt(
            "-f",
            "--filter",
            metavar="filter",
            parse=_parsers.filter_value,
            help="Filter output based on conditions provided",
        ),
    ] = [],  # noqa: B006
    format: Annotated[str, Opt("--format", help=_FORMAT_TABLE_HELP)] = "",
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
    format: Annotated[str, Opt("-f", "--format", help=_FORMAT_HELP)] = "",
) -> int:
    from cli.actions import container as act

    return act.inspect(env, act.InspectOptions(images_, format, False, "image"))


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
) -> int:
    from cli.actions import image as act

    return act.rmi(env, images_, force, no_prune)


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
    quiet: Annotated[bool, Opt("-q", "--quiet", help="Suppress the load output")] = False,
) -> int:
    from cli.actions import image as act

    return act.load(env, input, quiet)

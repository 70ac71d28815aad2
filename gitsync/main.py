"""The ``gitsync`` command line: the only module that knows click."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from gitsync import __version__
from gitsync.api.address import DEFAULT_LISTEN
from gitsync.errors import GitsyncError
from gitsync.output import echo

if TYPE_CHECKING:
    from gitsync.sources.spec import SourceSpec
    from gitsync.sync.reconcile import PrunePolicy
    from gitsync.sync.spec import TargetSpec

EXIT_USAGE = 2

# The --output of the command being run, so that its errors come out in the same form.
_OUTPUT = {"format": "text"}


def _remember_output(ctx: click.Context, param: click.Parameter, value: str) -> str:
    _OUTPUT["format"] = value
    return value


def _output_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--output",
        "-o",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        is_eager=True,  # known before any other option can fail
        callback=_remember_output,
        help="text, or json (errors too).",
    )


def _json_error(exc: GitsyncError) -> str:
    import json

    body: dict[str, Any] = {
        "error-code": exc.error_code,
        "message": exc.message,
        "exitCode": exc.exit_code,
    }
    issues = getattr(exc, "issues", None)
    if issues:
        body["issues"] = [issue.to_json() for issue in issues]
    return json.dumps(body, indent=2)


_UNKNOWN_KEYS_HELP = (
    "Unknown keys Ray would drop: error (default, or validate.unknown_keys in .gitsync.yaml) "
    "or warn."
)


def _unknown_keys_option(func: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--unknown-keys",
        "unknown_keys",
        type=click.Choice(["error", "warn"]),
        default=None,
        help=_UNKNOWN_KEYS_HELP,
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitsync")
def cli() -> None:
    """GitOps for model-serving configs: validate, diff and apply Ray Serve configs from git."""


@cli.command()
@click.argument("paths", nargs=-1)
@_output_option()
@click.option(
    "--root",
    help="Where relative working_dir paths resolve from when files are given [default: .].",
)
@_unknown_keys_option
def validate(
    paths: tuple[str, ...], output: str, root: str | None, unknown_keys: str | None
) -> None:
    """Validate config files, directories, or - for stdin."""
    from gitsync.commands.validate import validate as run

    sys.exit(run(paths, output=output, root=root, unknown_keys=unknown_keys))  # type: ignore[arg-type]


def _engine_options(func: Callable[..., None]) -> Callable[..., None]:
    """--engine URL | --state-dir DIR, --tenant, --application, --output."""
    options: list[Callable[[Callable[..., None]], Callable[..., None]]] = [
        click.option(
            "--engine",
            "engine_url",
            metavar="URL",
            help="A remote engine's API (default: $GITSYNC_ENGINE).",
        ),
        click.option(
            "--state-dir",
            metavar="DIR",
            help="An engine's state directory (default: $GITSYNC_STATE_DIR or ./.gitsync); "
            "when an agent or engine serving an API holds it, that API is used.",
        ),
        click.option("--token", envvar="GITSYNC_TOKEN", help="Bearer token for a remote engine."),
        click.option("--tenant", default="default", show_default=True),
        click.option("--application", default="default", show_default=True),
        _output_option(),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _source_options(func: Callable[..., None]) -> Callable[..., None]:
    options = [
        click.argument("source", default="."),
        click.option("--ref", help="Git branch, tag or commit (makes SOURCE a git source)."),
        click.option("--path", "subpath", default="", help="Subdirectory of the source."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _runtime_options(func: Callable[..., None]) -> Callable[..., None]:
    """--runtime none|ray, --ray-address, --health-timeout, --no-auto-rollback, --store."""
    options = [
        click.option(
            "--runtime",
            type=click.Choice(["none", "ray"]),
            default="none",
            show_default=True,
            help="What runs the applications: none (state only) or a Ray cluster.",
        ),
        # No default here: RuntimeOptions holds them (importing it costs the CLI ~0.1 s).
        click.option(
            "--ray-address",
            metavar="URL",
            help="The Ray dashboard (Serve REST API) for --runtime ray "
            "[default: the one on this machine, port 8265].",
        ),
        click.option(
            "--health-timeout",
            type=click.FloatRange(min=0.1),
            help="Seconds a changed application may take to reach RUNNING [default: 120].",
        ),
        click.option(
            "--no-auto-rollback",
            is_flag=True,
            help="Mark a failed generation failed but do not roll back automatically.",
        ),
        click.option(
            "--store",
            envvar="GITSYNC_STORE",
            metavar="URL",
            default=None,
            help="postgresql://… shared by several engines (default: SQLite in the state "
            "directory) [env GITSYNC_STORE].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _runtime(opts: dict[str, Any]) -> Any:
    from gitsync.engine.runtime_options import RuntimeOptions

    given = {"ray_address": opts.pop("ray_address"), "health_timeout_s": opts.pop("health_timeout")}
    return RuntimeOptions(
        runtime=opts.pop("runtime"),
        auto_rollback=not opts.pop("no_auto_rollback"),
        store=opts.pop("store") or None,
        **{name: value for name, value in given.items() if value is not None},
    )


def _prune_options(func: Callable[..., None]) -> Callable[..., None]:
    options = [
        click.option(
            "--max-prune",
            type=click.FloatRange(0, 1),
            default=0.5,
            show_default=True,
            help="Largest share of live applications a plan may remove.",
        ),
        click.option(
            "--allow-mass-prune", is_flag=True, help="Allow removing more than --max-prune."
        ),
        click.option(
            "--no-prune", is_flag=True, help="Keep applications that are no longer listed."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@cli.command()
@_source_options
@_engine_options
@_prune_options
@_unknown_keys_option
def diff(**opts: Any) -> None:
    """Show what a sync would change; change nothing. Exit 0 none, 1 changes, >1 error."""
    from gitsync.commands.diff import diff as run

    sys.exit(
        run(
            _source(opts),
            _target(opts),
            **_unit(opts),
            policy=_policy(opts),
            unknown_keys=opts["unknown_keys"],
        )
    )


@cli.command()
@_source_options
@_engine_options
@_prune_options
@_unknown_keys_option
@click.option("--force", is_flag=True, help="Activate even if the base generation moved.")
def sync(**opts: Any) -> None:
    """Validate SOURCE, then create a session, upload, prepare and activate it."""
    from gitsync.commands.sync import sync as run

    sys.exit(
        run(
            _source(opts),
            _target(opts),
            **_unit(opts),
            policy=_policy(opts),
            force=opts["force"],
            unknown_keys=opts["unknown_keys"],
        )
    )


@cli.command()
@_engine_options
@click.option("--source", "source_location", help="Compare with this source (drift).")
@click.option("--ref", help="Git ref of --source.")
@click.option("--path", "subpath", default="", help="Subdirectory of --source.")
@_unknown_keys_option
def status(**opts: Any) -> None:
    """Applications and their statuses, the active generation, revisions, drift."""
    from gitsync.commands.status import status as run
    from gitsync.sources.spec import SourceSpec

    location = opts["source_location"]
    source = SourceSpec(location, opts["ref"], opts["subpath"]) if location else None
    sys.exit(run(_target(opts), source=source, **_unit(opts), unknown_keys=opts["unknown_keys"]))


@cli.command()
@_engine_options
@click.option("--limit", default=20, show_default=True)
def history(**opts: Any) -> None:
    """Generations, newest first: time, source revision, change summary."""
    from gitsync.commands.history import history as run

    sys.exit(run(_target(opts), **_unit(opts), limit=opts["limit"]))


@cli.command()
@click.argument("generation", type=int, required=False)
@_engine_options
def rollback(generation: int | None, **opts: Any) -> None:
    """Re-apply GENERATION's package (default: the previous one) as a new generation."""
    from gitsync.commands.history import rollback as run

    sys.exit(run(_target(opts), **_unit(opts), generation=generation))


_public_url_option = click.option(
    "--public-url",
    multiple=True,
    metavar="URL",
    help="A URL clients use to reach this listener; its host joins the Host allow-list "
    "(loopback names and the bound address are always allowed). Repeatable.",
)


@cli.command()
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, help="HOST:PORT to bind.")
@click.option(
    "--state-dir",
    metavar="DIR",
    help="The engine's state directory (default: $GITSYNC_STATE_DIR or ./.gitsync).",
)
@click.option(
    "--token", default=None, help="Bearer token every route but health needs [env GITSYNC_TOKEN]."
)
@click.option("--max-body", type=int, default=None, help="Request body cap in bytes.")
@click.option(
    "--unknown-keys",
    "unknown_keys",
    type=click.Choice(["warn", "error"]),
    default="warn",
    show_default=True,
    help="Unknown keys Ray drops in a deployed package: warn (Ray's contract) or error.",
)
@_public_url_option
@_runtime_options
def engine(
    listen: str,
    state_dir: str | None,
    token: str | None,
    max_body: int | None,
    unknown_keys: str,
    public_url: tuple[str, ...],
    **opts: Any,
) -> None:
    """Serve the engine's HTTP API: Vespa Deploy API v2 and the Ray Serve REST API."""
    from gitsync.commands.engine import engine as run

    runtime = _runtime(opts)
    sys.exit(
        run(
            listen,
            state_dir,
            token=token,
            max_body=max_body,
            public_urls=public_url,
            runtime=runtime,
            unknown_keys=unknown_keys,  # type: ignore[arg-type]
        )
    )


# -- agent and push-to-deploy hooks ----------------------------------------------------


@cli.command()
@_source_options
@click.option(
    "--engine",
    "engine_url",
    metavar="URL",
    help="Drive a remote engine's API instead of the embedded one.",
)
@click.option(
    "--state-dir",
    metavar="DIR",
    help="Embedded engine state and the agent lock (default: $GITSYNC_STATE_DIR or ./.gitsync).",
)
@click.option("--token", envvar="GITSYNC_TOKEN", help="Bearer token (remote engine and own API).")
@click.option("--tenant", default="default", show_default=True)
@click.option("--application", default="default", show_default=True)
@click.option(
    "--listen", default=DEFAULT_LISTEN, show_default=True, help="HOST:PORT of the agent's API."
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=30.0,
    show_default=True,
    help="Seconds between polls (plus up to 20 % jitter).",
)
@click.option("--self-heal", is_flag=True, help="Revert drift made through the API.")
@click.option(
    "--lease-ttl",
    type=click.FloatRange(min=1.0, max=600.0),
    default=10.0,
    show_default=True,
    help="Seconds the unit's lease lasts unrenewed: a standby agent takes over within it.",
)
@_public_url_option
@_prune_options
@click.option(
    "--webhook-secret",
    envvar="GITSYNC_WEBHOOK_SECRET",
    help="Enables POST /api/gitsync/webhook (HMAC-SHA256) [env GITSYNC_WEBHOOK_SECRET].",
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@_unknown_keys_option
@_runtime_options
def agent(**opts: Any) -> None:
    """Keep the engine in line with SOURCE: watch, poll, webhooks, git hooks."""
    import os

    from gitsync.commands.agent import AgentOptions, run_agent

    options = AgentOptions(
        source=_source(opts),
        engine_url=opts["engine_url"],
        state_dir=opts["state_dir"] or os.environ.get("GITSYNC_STATE_DIR"),
        token=opts["token"],
        listen=opts["listen"],
        public_urls=tuple(opts["public_url"]),
        tenant=opts["tenant"],
        application=opts["application"],
        interval_s=opts["interval"],
        self_heal=opts["self_heal"],
        policy=_policy(opts),
        webhook_secret=opts["webhook_secret"],
        log_format=opts["log_format"],
        runtime=_runtime(opts),
        unknown_keys=opts["unknown_keys"],
        lease_ttl_s=opts["lease_ttl"],
    )
    sys.exit(run_agent(options))


@cli.group()
def store() -> None:
    """The engine's store: move an embedded state directory into PostgreSQL."""


@store.command("migrate")
@click.option("--from", "source", required=True, metavar="DIR", help="The state directory.")
@click.option("--to", "target", required=True, metavar="URL", help="postgresql://… (empty).")
def store_migrate(source: str, target: str) -> None:
    """Copy the SQLite store in DIR into the empty PostgreSQL database at URL (stop the
    engine or agent using DIR first). DIR is left as it was."""
    from gitsync.commands.store import migrate

    sys.exit(migrate(source, target))


@cli.group()
def hook() -> None:
    """Push to deploy: git pre-receive / post-receive hooks for a bare repository."""


def _hook_options(func: Callable[..., None]) -> Callable[..., None]:
    """The options of gitsync.hooks.options.OPTIONS (what installed hooks run parses the
    same table without click)."""
    from gitsync.hooks.options import OPTIONS

    for option in reversed(OPTIONS):
        func = click.option(
            option.flag,
            option.field,
            default=option.default,
            show_default=bool(option.default),
            metavar=option.metavar,
            help=option.help,
        )(func)
    return func


def _hook_settings(opts: dict[str, Any]) -> Any:
    from gitsync.hooks.options import OPTIONS, HookSettings

    return HookSettings(**{option.field: opts[option.field] for option in OPTIONS})


@hook.command("install")
@click.argument("bare_repo")
@_hook_options
@click.option("--force", is_flag=True, help="Replace hooks gitsync did not write.")
def hook_install(bare_repo: str, force: bool, **opts: Any) -> None:
    """Install pre-receive (validate) and post-receive (sync) hooks in BARE_REPO."""
    from gitsync.commands.hook import install

    sys.exit(install(bare_repo, _hook_settings(opts), force=force))


@hook.command("pre-receive")
@_hook_options
def hook_pre_receive(**opts: Any) -> None:
    """(run by git) Refuse a push whose deploy branch is invalid."""
    from gitsync.commands.hook import pre_receive

    sys.exit(pre_receive(_hook_settings(opts)))


@hook.command("post-receive")
@_hook_options
def hook_post_receive(**opts: Any) -> None:
    """(run by git) Sync the pushed deploy branch and print the plan."""
    from gitsync.commands.hook import post_receive

    sys.exit(post_receive(_hook_settings(opts)))


def _source(opts: dict[str, Any]) -> SourceSpec:
    from gitsync.sources.spec import SourceSpec

    return SourceSpec(opts["source"], opts["ref"], opts["subpath"])


def _target(opts: dict[str, Any]) -> TargetSpec:
    from gitsync.sync.spec import TargetSpec

    return TargetSpec(opts["engine_url"], opts["state_dir"], opts["token"])


def _unit(opts: dict[str, Any]) -> dict[str, str]:
    return {"tenant": opts["tenant"], "application": opts["application"], "output": opts["output"]}


def _policy(opts: dict[str, Any]) -> PrunePolicy:
    from gitsync.sync.reconcile import PrunePolicy

    return PrunePolicy(
        max_prune=opts["max_prune"],
        allow_mass_prune=opts["allow_mass_prune"],
        prune=not opts["no_prune"],
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: errors become one line on stderr and an exit code."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="gitsync",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        shown = io.StringIO()  # a usage error quotes the arguments: escaped like the rest
        exc.show(file=shown)
        echo(shown.getvalue().rstrip("\n"), sys.stderr)
        return EXIT_USAGE
    except click.exceptions.Abort:
        echo("Aborted.", sys.stderr)
        return 130
    except GitsyncError as exc:
        if _OUTPUT["format"] == "json":
            echo(_json_error(exc))  # stdout: where the JSON was asked for
        else:
            echo(f"gitsync: error: {exc.message}", sys.stderr)
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

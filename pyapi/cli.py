"""The ``hotelcore`` command: database lifecycle, migrations, demo, benchmarks, HTTP server."""

from __future__ import annotations

import functools
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from . import migrate as mig
from . import server as srv
from .client import bind

app = typer.Typer(help="hotelcore: a PostgreSQL-native reservation and property core.", no_args_is_help=True)
db_app = typer.Typer(
    help="Start, stop and locate the database (embedded PostgreSQL 18 unless DATABASE_URL is set)."
)
migrations_app = typer.Typer(help="Author and inspect migrations (Alembic, fed by db/manifest.txt).")
app.add_typer(db_app, name="db")
app.add_typer(migrations_app, name="migrations")

console = Console()
err = Console(stderr=True)


def friendly(fn):
    """Turn the errors a user can cause into one line and exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except srv.DatabaseUnavailable as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except mig.MigrationError as exc:
            err.print(f"[red]migration error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


ready_server = srv.ready_server


# ----------------------------------------------------------------------------- db


@db_app.command("start")
@friendly
def db_start() -> None:
    """Start the embedded server (or check DATABASE_URL answers) and print its URL."""
    server = ready_server()
    console.print(server.url, highlight=False, soft_wrap=True)


@db_app.command("stop")
@friendly
def db_stop() -> None:
    """Stop the embedded server (nothing to do with DATABASE_URL set)."""
    if srv.config.external_url():
        console.print("DATABASE_URL is set: the external server is not ours to stop.")
        return
    console.print("stopped" if srv.stop_embedded() else "not running")


@db_app.command("status")
@friendly
def db_status() -> None:
    """Say which server is configured and whether it answers."""
    if srv.config.external_url():
        server = srv.get_server(start=False)
        version = server.check()
        console.print(f"external server {srv.config.endpoint_of(server.url)}: up, PostgreSQL {version}")
        return
    state = srv.embedded_status()
    console.print(f"embedded server in {srv.config.data_dir()}: {state}", highlight=False)
    if state != "running":
        raise typer.Exit(3)


@db_app.command("url")
@friendly
def db_url() -> None:
    """Print the database URL every command uses (starts the embedded server if needed)."""
    console.print(ready_server().url, highlight=False, soft_wrap=True)


# ----------------------------------------------------------------------------- psql / migrate


@app.command()
@friendly
def psql(args: Annotated[list[str] | None, typer.Argument(help="Extra psql arguments.")] = None) -> None:
    """Open psql on the database."""
    raise typer.Exit(srv.run_psql(ready_server().url, args or []))


@app.command()
@friendly
def migrate(
    target: Annotated[str, typer.Option(help="Revision to upgrade to.")] = "head",
) -> None:
    """Upgrade the database to the head revision (or --target)."""
    server = ready_server()
    mig.upgrade(server.url, target)
    console.print(f"database at revision {mig.current(server.url)}")


@migrations_app.command("new")
@friendly
def migrations_new(
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision changes.")] = "",
    amend: Annotated[
        bool, typer.Option(help="Rewrite the head revision (only before it is released).")
    ] = False,
    no_transaction: Annotated[
        bool,
        typer.Option(
            "--no-transaction",
            help="Apply it outside a transaction, statement by statement (CREATE INDEX CONCURRENTLY).",
        ),
    ] = False,
) -> None:
    """Write a revision applying the new versioned files of db/manifest.txt (db/schema). Changed
    functions, triggers and views need none: `hotelcore migrate` replaces them."""
    if not message and not amend:
        err.print("give a message: -m 'what changed'")
        raise typer.Exit(2)
    path = mig.new_revision(message, amend=amend, transaction=not no_transaction)
    if path is None:
        console.print(
            "no new versioned file since the head revision (functions, triggers and views need no revision)"
        )
    else:
        console.print(f"wrote {path.relative_to(srv.config.PROJECT_ROOT)}", highlight=False)


@migrations_app.command("release")
@friendly
def migrations_release(
    target: Annotated[str, typer.Argument(help="Last revision to release (default: head).")] = "",
) -> None:
    """Mark revisions released (migrations/released): from then on their files never change."""
    added = mig.release(target or None)
    if added:
        console.print(f"released {', '.join(added)}")
    else:
        console.print("every revision up to it is released already")


@migrations_app.command("check")
@friendly
def migrations_check() -> None:
    """Fail when a versioned db/ file is edited or unapplied, or a released revision changed."""
    problems = mig.drift()
    for line in problems:
        err.print(f"- {line}", highlight=False)
    if problems:
        err.print("run: make revision m='what changed'")
        raise typer.Exit(1)
    console.print("every versioned db/ file is applied by a revision; released revisions unchanged")


@migrations_app.command("downgrade")
@friendly
def migrations_downgrade(
    target: Annotated[str, typer.Argument(help="Revision to go back to ('base' for none).")],
) -> None:
    """Downgrade the database to a revision."""
    server = ready_server()
    mig.downgrade(server.url, target)
    console.print(f"database at revision {mig.current(server.url) or 'base'}")


@migrations_app.command("current")
@friendly
def migrations_current() -> None:
    """Print the database's revision."""
    console.print(mig.current(ready_server().url) or "base")


# ----------------------------------------------------------------------------- HTTP API

apikey_app = typer.Typer(help="API keys of the client systems (member, pms, saas) for the HTTP API.")
app.add_typer(apikey_app, name="apikey")


@app.command()
@friendly
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API (seed 000 endpoints, seed 001 checkout) under uvicorn; OpenAPI at /docs."""
    import psycopg

    from .http.app import serve as run
    from .pool import missing_roles

    server = ready_server()
    mig.upgrade(server.url)
    with psycopg.connect(server.url, autocommit=True) as conn:
        missing, login = missing_roles(conn), conn.info.user
    if missing:
        # each request runs as its system's role (and the checkout saga as hotelcore_service)
        err.print(
            f"[yellow]warning:[/yellow] the pool login {login} is not a member of {', '.join(missing)}:"
            f" requests of those systems will be refused (SYSTEM_ROLE_NOT_GRANTED)."
            f" Grant them: GRANT {', '.join(missing)} TO {login};",
            highlight=False,
        )
    else:
        console.print(
            f"pool login {login}: a member of hotelcore_member, hotelcore_pms, hotelcore_saas and hotelcore_service",
            highlight=False,
        )
    console.print(f"hotelcore HTTP API on http://{host}:{port} (docs: /docs)", highlight=False)
    run(host, port, database_url=server.url)


def _key_sql(query: str, params: list):
    """Rows of one api call for the key commands; a refusal is one line on stderr and exit 1."""
    import psycopg

    server = ready_server()
    try:
        with psycopg.connect(server.url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()
    except psycopg.Error as exc:
        err.print(
            f"[red]error:[/red] {exc.diag.message_primary}: {exc.diag.message_detail or ''}", highlight=False
        )
        raise typer.Exit(1) from None


def _expiry(expires_in: str | None):
    """An expiry instant from a duration such as 90d, 12h, 30m (None: no expiry)."""
    import datetime as dt
    import re

    if expires_in is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", expires_in)
    if not m or int(m.group(1)) == 0:
        err.print(
            f"[red]error:[/red] --expires-in {expires_in!r}: use a positive number of d, h or m (e.g. 90d)"
        )
        raise typer.Exit(1)
    unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
    return dt.datetime.now(dt.UTC) + dt.timedelta(**{unit: int(m.group(1))})


@apikey_app.command("create")
@friendly
def apikey_create(
    system: Annotated[str, typer.Option(help="member, pms or saas.")],
    hotel: Annotated[list[int], typer.Option(help="A hotel id the key may see (repeat for several).")],
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
    expires_in: Annotated[
        str | None, typer.Option(help="Expire after this long: 90d, 12h or 30m (default: never).")
    ] = None,
) -> None:
    """Issue an API key; the token is shown once (only its sha256 is stored)."""
    expires_at = _expiry(expires_in)
    key_id, token = _key_sql(
        *bind(
            "issue_api_key",
            columns=("api_key_id", "token"),
            p_system=system,
            p_hotel_ids=hotel,
            p_label=label,
            p_expires_at=expires_at,
        )
    )[0]
    until = f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
    console.print(
        f"api key {key_id} ({system}, hotels {', '.join(map(str, hotel))}{until}); shown once:",
        highlight=False,
    )
    console.print(token, highlight=False, soft_wrap=True)


@apikey_app.command("rotate")
@friendly
def apikey_rotate(
    key_id: Annotated[int, typer.Argument(help="The id of the key to replace.")],
    grace: Annotated[
        str,
        typer.Option(
            help="How long the old key keeps working: a PostgreSQL interval, e.g. '1 day', '2 hours', '0'."
        ),
    ] = "1 day",
    expires_in: Annotated[
        str | None,
        typer.Option(help="The new key expires after this long: 90d, 12h or 30m (default: never)."),
    ] = None,
) -> None:
    """Rotate a key: a new key for the same system, hotels and label; the old one works for the grace period."""
    new_id, token, old_until = _key_sql(
        *bind(
            "rotate_api_key",
            columns=("api_key_id", "token", "old_key_expires_at"),
            p_api_key_id=key_id,
            p_grace=grace,
            p_expires_at=_expiry(expires_in),
        )
    )[0]
    console.print(
        f"api key {new_id} replaces key {key_id}, which works until {old_until:%Y-%m-%d %H:%M:%S %Z}; shown once:",
        highlight=False,
    )
    console.print(token, highlight=False, soft_wrap=True)


@apikey_app.command("revoke")
@friendly
def apikey_revoke(key_id: Annotated[int, typer.Argument(help="The id of the key to revoke.")]) -> None:
    """Revoke a key now: its token is refused from the next request on."""
    done = _key_sql(*bind("revoke_api_key", p_api_key_id=key_id))
    if not done or not done[0][0]:
        err.print(f"[red]error:[/red] api key {key_id} is unknown or already revoked")
        raise typer.Exit(1)
    console.print(f"api key {key_id} revoked", highlight=False)


@apikey_app.command("list")
@friendly
def apikey_list() -> None:
    """List the API keys (never their secret): system, hotels, expiry, last use, status."""
    from rich.table import Table

    rows = _key_sql(
        *bind(
            "list_api_keys",
            columns=(
                "api_key_id",
                "system",
                "label",
                "key_prefix",
                "hotel_ids",
                "created_at",
                "expires_at",
                "last_used_at",
                "replaces_id",
                "status",
            ),
        )
    )
    table = Table(
        "id", "system", "label", "prefix", "hotels", "created", "expires", "last used", "replaces", "status"
    )

    def when(t) -> str:
        return "" if t is None else f"{t:%Y-%m-%d %H:%M}"

    for r in rows:
        table.add_row(
            str(r[0]),
            r[1],
            r[2],
            r[3],
            ", ".join(map(str, r[4])),
            when(r[5]),
            when(r[6]),
            when(r[7]),
            "" if r[8] is None else str(r[8]),
            r[9],
        )
    console.print(table)


# ----------------------------------------------------------------------------- events and webhooks

from .events_cli import dispatch, events_app, webhooks_app  # noqa: E402

app.add_typer(webhooks_app, name="webhooks")
app.add_typer(events_app, name="events")
app.command("dispatch")(friendly(dispatch))
# ----------------------------------------------------------------------------- external PMS (seed 001)

from .pms.cli import pms_app  # noqa: E402

app.add_typer(pms_app, name="pms")

# ----------------------------------------------------------------------------- the tools
# The demo, the bench, the README generator and the simulated vendor live in a package of their
# own (hotelcore_tools) that a deployment does not install. Their commands are registered here
# when it is installed; otherwise each command still exists and says how to install them.

TOOLS_INSTALL = "pip install 'hotelcore[tools]' (from a checkout: pip install -e tools; make installs them)"
TOOL_COMMANDS = (  # (command, typer app it belongs to, function of hotelcore_tools.cli)
    ("demo", app, "demo"),
    ("bench", app, "bench_command"),
    ("docs", app, "docs"),
    ("vendor-sim", app, "vendor_sim"),
    ("bench", pms_app, "pms_bench"),
)


def tools_cli():
    """The tools' commands (``hotelcore_tools.cli``), or None when the tools are not installed."""
    try:
        from hotelcore_tools import cli as tools
    except ModuleNotFoundError as exc:
        if exc.name != "hotelcore_tools":
            raise
        return None
    return tools


def _missing_tool(command: str):
    def missing(ctx: typer.Context) -> None:
        err.print(
            f"[red]error:[/red] `hotelcore {command}` is one of hotelcore's tools, which are not installed"
            f" here (a deployment needs only the runtime). Install them: {escape(TOOLS_INSTALL)}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)

    missing.__doc__ = "(not installed here) One of hotelcore's tools: run it to see how to install them."
    return missing


def _register_tools() -> None:
    tools = tools_cli()
    for command, parent, attr in TOOL_COMMANDS:
        name = command if parent is app else f"pms {command}"
        if tools is not None:
            parent.command(command)(friendly(getattr(tools, attr)))
        else:
            parent.command(
                command, context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
            )(_missing_tool(name))


_register_tools()

# ----------------------------------------------------------------------------- operations

from .ops_cli import register as _register_ops  # noqa: E402

_register_ops(app, db_app, migrations_app, friendly)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())

"""The ``hotelcore`` command: database lifecycle, migrations, demo, benchmarks, HTTP server."""

from __future__ import annotations

import functools
import sys
from typing import Annotated

import typer
from rich.console import Console

from . import migrate as mig
from . import server as srv

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


def ready_server() -> srv.Server:
    server = srv.get_server()
    server.check()
    return server


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
) -> None:
    """Write a revision carrying every changed file of db/manifest.txt."""
    if not message and not amend:
        err.print("give a message: -m 'what changed'")
        raise typer.Exit(2)
    path = mig.new_revision(message, amend=amend)
    if path is None:
        console.print("nothing changed since the head revision")
    else:
        console.print(f"wrote {path.relative_to(srv.config.PROJECT_ROOT)}", highlight=False)


@migrations_app.command("check")
@friendly
def migrations_check() -> None:
    """Fail when a db/ file is not carried by a revision as it is now."""
    problems = mig.drift()
    for line in problems:
        err.print(f"- {line}", highlight=False)
    if problems:
        err.print("run: make revision m='what changed'")
        raise typer.Exit(1)
    console.print("every db/ file is carried by the head revision")


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


@app.command()
@friendly
def docs() -> None:
    """Regenerate README.md's SQL API tables (functions, views, error codes) from the migrated database."""
    from . import docs as readme

    server = ready_server()
    url = srv.recreate_database(server.url, "hotelcore_docs")
    try:
        mig.upgrade(url)
        changed = readme.write(url)
    finally:
        srv.drop_database(server.url, "hotelcore_docs")
    console.print("README.md updated" if changed else "README.md already up to date")


# ----------------------------------------------------------------------------- demo


@app.command()
@friendly
def demo() -> None:
    """Start the database, migrate, and show what the migrated schema holds."""
    from .catalog import object_summary

    server = ready_server()
    mig.upgrade(server.url)
    from rich.table import Table

    table = Table(title=f"hotelcore schema at revision {mig.current(server.url)}")
    for col in ("schema", "kind", "name", "comment"):
        table.add_column(col)
    for row in object_summary(server.url):
        table.add_row(*[str(v or "") for v in row])
    console.print(table)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())

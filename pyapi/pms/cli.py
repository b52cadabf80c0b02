"""``hotelcore pms ...``: import a property, sync status, run due syncs (``pms bench`` is a tool)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ..client import bind

console = Console()
err = Console(stderr=True)

pms_app = typer.Typer(
    help="Hotels kept by an external PMS (seed 001): import, sync status, sync.", no_args_is_help=True
)


def _connect():
    import psycopg

    from ..migrate import upgrade
    from ..server import ready_server

    server = ready_server()
    upgrade(server.url)
    return psycopg.connect(server.url, autocommit=True)


def _fail(exc: Exception) -> None:
    import psycopg

    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        err.print(
            f"[red]error:[/red] {exc.diag.message_primary}: {exc.diag.message_detail or ''}", highlight=False
        )
    else:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
    raise typer.Exit(1)


@pms_app.command("import")
def import_command(
    vendor: Annotated[str, typer.Option(help="The PMS vendor, e.g. cloudbeds.")],
    property_id: Annotated[str, typer.Option("--property", help="The vendor's property id.")],
    base_url: Annotated[
        str, typer.Option(help="The vendor's API base URL, e.g. https://api.cloudbeds.com/api/v1.3.")
    ],
    api_key: Annotated[str, typer.Option(help="The vendor API key of the property.")],
    webhook_base: Annotated[
        str | None,
        typer.Option(help="This API's public URL; webhooks are registered at it (none: polling only)."),
    ] = None,
    days: Annotated[
        int, typer.Option(help="Nights of inventory and rates mirrored at once.", min=1, max=365)
    ] = 30,
) -> None:
    """Create a hotel from a PMS property: name, location, time zone, currency, room types, rooms,
    rate plans, the first mirror of inventory and rates; register its webhooks; start its sync."""
    from . import service
    from .connector import PmsError, vendors

    if vendor not in vendors():
        err.print(f"[red]error:[/red] no connector for vendor {vendor!r} (known: {', '.join(vendors())})")
        raise typer.Exit(1)
    try:
        with _connect() as conn, Progress(transient=True) as progress:
            progress.add_task(f"importing {vendor} property {property_id}", total=None)
            counts = service.import_property(
                conn,
                vendor=vendor,
                property_id=property_id,
                base_url=base_url,
                api_key=api_key,
                webhook_base=webhook_base,
                days=days,
            )
    except (PmsError, Exception) as exc:  # noqa: B014 - one line and exit 1 for every failure
        _fail(exc)
    secret = counts.pop("webhook_secret", None)
    console.print(
        f"hotel {counts['hotel_id']}: {counts['room_types']} room types, {counts['rooms']} rooms, "
        f"{counts['rate_plans']} rate plans, {counts['inventory_nights']} inventory nights, "
        f"{counts['webhooks']} webhooks; sync every 300 s",
        highlight=False,
    )
    # the HMAC secret of signed webhook events (X-PMS-Signature), shown once like an API key
    console.print(f"webhook signing secret (shown once): {secret}", highlight=False, soft_wrap=True)


@pms_app.command("status")
def status_command() -> None:
    """Every external hotel's sync: running, last and next sync, consecutive failures, errors."""
    try:
        with _connect() as conn:
            rows = conn.execute(
                *bind(
                    "pms_sync_status",
                    columns=(
                        "hotel_id",
                        "hotel_name",
                        "vendor",
                        "property_id",
                        "running",
                        "sync_enabled",
                        "last_sync_at",
                        "last_sync_ok",
                        "next_sync_at",
                        "consecutive_failures",
                        "error_count",
                        "last_error",
                    ),
                )
            ).fetchall()
    except Exception as exc:
        _fail(exc)
    table = Table(
        "hotel",
        "name",
        "vendor",
        "property",
        "state",
        "last sync",
        "next sync",
        "failures",
        "errors",
        "last error",
    )
    for r in rows:
        state = "running" if r[4] else ("enabled" if r[5] else "STOPPED")
        table.add_row(
            str(r[0]),
            r[1],
            r[2],
            r[3],
            state,
            "-" if r[6] is None else f"{r[6]:%Y-%m-%d %H:%M:%S} {'ok' if r[7] else 'failed'}",
            "-" if r[8] is None else f"{r[8]:%Y-%m-%d %H:%M:%S}",
            str(r[9]),
            str(r[10]),
            (r[11] or "")[:60],
        )
    console.print(table if rows else "no external-PMS hotel")


@pms_app.command("sync")
def sync_command(
    hotel: Annotated[int | None, typer.Option(help="Sync this hotel now (restarts a stopped sync).")] = None,
    loop: Annotated[bool, typer.Option(help="Keep polling: run every due sync, then wait.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds with --loop.", min=1)] = 15.0,
) -> None:
    """Run the polling sync: every due external hotel (or one, now), once or in a loop."""
    from .runtime import PmsRuntime

    class _Db:
        def __init__(self, conn):
            self.conn = conn

        def run(self, creds, work):
            with self.conn.transaction():
                return work(self.conn)

    try:
        with _connect() as conn:
            runtime = PmsRuntime(_Db(conn))
            if hotel is not None:
                conn.execute(*bind("pms_request_sync", p_hotel_id=hotel))
            while True:
                for state in runtime.sync_due():
                    console.print(state, highlight=False)
                if not loop:
                    break
                time.sleep(interval)
    except KeyboardInterrupt:
        return
    except Exception as exc:
        _fail(exc)


@pms_app.command("rotate-keys")
def rotate_keys_command() -> None:
    """Seal every stored secret again under the newest key of HOTELCORE_PMS_KEYS: external hotels'
    vendor API keys and webhook secrets, outbound webhook endpoints' signing secrets (new key
    first, the old one after it; drop the old one once this has run)."""
    from ..dispatch import reseal_secrets
    from .service import rotate_api_keys

    try:
        with _connect() as conn:
            done = rotate_api_keys(conn)
            for k, n in reseal_secrets(conn).items():
                done[k] += n
    except Exception as exc:  # a key no configured key opens, the database: reported, each hotel whole
        _fail(exc)
    console.print(
        f"{done['resealed']} vendor API keys, webhook secrets or endpoints sealed under the newest key"
        + (
            f"; {done['changed_meanwhile']} changed meanwhile, left as they are"
            if done["changed_meanwhile"]
            else ""
        )
    )

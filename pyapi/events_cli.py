"""``hotelcore webhooks ...`` and ``hotelcore dispatch``: thin wrappers over the api functions of
db/functions/webhooks.sql (the same operations SQL clients call) and over pyapi.dispatch."""

from __future__ import annotations

import datetime as dt
import signal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .client import bind
from .dispatch import new_secret

webhooks_app = typer.Typer(
    help="Outbound webhooks (Standard Webhooks): add, list, disable, enable, rotate-secret, replay.",
    no_args_is_help=True,
)
events_app = typer.Typer(help="The event log: retention.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _connect():
    import psycopg

    from .server import ready_server

    return psycopg.connect(ready_server().url, autocommit=True)


def _run(query: bytes, params: dict) -> list[tuple]:
    """One api call; a refusal is one line on stderr and exit code 1."""
    import psycopg

    try:
        with _connect() as conn:
            return conn.execute(query, params).fetchall()
    except psycopg.Error as exc:
        err.print(
            f"[red]error:[/red] {exc.diag.message_primary}: {exc.diag.message_detail or ''}"
            f"{' (' + exc.diag.message_hint + ')' if exc.diag.message_hint else ''}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


@webhooks_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="The receiver's URL (http or https).")],
    events: Annotated[
        list[str],
        typer.Option(
            "--events", help="Event types or patterns, e.g. 'reservation.*' (repeat or comma-separate)."
        ),
    ],
    hotel: Annotated[
        list[int] | None, typer.Option("--hotel", help="Limit to a hotel (repeat for several).")
    ] = None,
    system: Annotated[
        str, typer.Option(help="Whose rights filter the events: member, pms, saas, or admin (every field).")
    ] = "admin",
    description: Annotated[str | None, typer.Option(help="What the endpoint is for.")] = None,
) -> None:
    """Register an endpoint; prints its id and its whsec_ secret (shown once)."""
    types = [t.strip() for e in events for t in e.split(",") if t.strip()]
    secret, sealed = new_secret()
    ((webhook_id, name),) = _run(
        *bind(
            "add_webhook",
            columns=("webhook_id", "name"),
            p_url=url,
            p_event_types=types,
            p_secret_sealed=sealed,
            p_hotel_ids=hotel or None,
            p_system=system,
            p_description=description,
        )
    )
    console.print(f"webhook {webhook_id} ({name}) -> {url}, events {', '.join(types)}", highlight=False)
    console.print(f"secret (shown once): {secret}", highlight=False, soft_wrap=True)


@webhooks_app.command("list")
def list_() -> None:
    """Every endpoint with its filter, state and delivery counts."""
    rows = _run(
        *bind(
            "list_webhooks",
            columns=(
                "webhook_id",
                "url",
                "system",
                "event_types",
                "hotel_ids",
                "disabled_reason",
                "previous_secret_until",
                "pending",
                "delivered",
                "dead",
            ),
        )
    )
    table = Table("id", "url", "system", "events", "hotels", "state", "pending", "delivered", "dead")
    for wid, url, system, types, hotels, disabled, rotating, pending, delivered, dead in rows:
        state = f"disabled: {disabled}" if disabled else ("rotating" if rotating else "enabled")
        table.add_row(
            str(wid), url, system, ", ".join(types), ", ".join(map(str, hotels or [])) or "all", state,
            str(pending), str(delivered), str(dead),
        )  # fmt: skip
    console.print(table)


@webhooks_app.command("disable")
def disable(
    webhook_id: Annotated[int, typer.Argument(help="The endpoint's id.")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Stop deliveries to an endpoint (its events keep queuing)."""
    ((changed,),) = _run(*bind("disable_webhook", p_webhook_id=webhook_id, p_reason=reason))
    console.print(f"webhook {webhook_id} {'disabled' if changed else 'was already disabled'}")


@webhooks_app.command("enable")
def enable(webhook_id: Annotated[int, typer.Argument(help="The endpoint's id.")]) -> None:
    """Resume deliveries to a disabled endpoint (after a 410 or a disable)."""
    ((changed,),) = _run(*bind("enable_webhook", p_webhook_id=webhook_id))
    console.print(f"webhook {webhook_id} {'enabled' if changed else 'was already enabled'}")


@webhooks_app.command("rotate-secret")
def rotate_secret(
    webhook_id: Annotated[int, typer.Argument(help="The endpoint's id.")],
    overlap_hours: Annotated[
        float, typer.Option(help="Hours during which the old secret also signs.")
    ] = 24.0,
) -> None:
    """Give an endpoint a new secret; both sign until the overlap ends."""
    secret, sealed = new_secret()
    ((until,),) = _run(
        *bind(
            "rotate_webhook_secret",
            p_webhook_id=webhook_id,
            p_secret_sealed=sealed,
            p_overlap=dt.timedelta(hours=overlap_hours),
        )
    )
    console.print(f"new secret (shown once): {secret}", highlight=False, soft_wrap=True)
    console.print(
        f"the previous secret also signs until {until}" if until else "the previous secret no longer signs"
    )


@webhooks_app.command("replay")
def replay(
    webhook_id: Annotated[int, typer.Argument(help="The endpoint's id.")],
    event: Annotated[str | None, typer.Option(help="One event id (evt_...).")] = None,
    since: Annotated[
        dt.datetime | None, typer.Option("--from", help="Start of a time range (occurred_at).")
    ] = None,
    until: Annotated[dt.datetime | None, typer.Option("--until", help="End of the range (excluded).")] = None,
) -> None:
    """Send events again (same webhook-id): one by id, or those that occurred in a time range."""
    ((count,),) = _run(
        *bind("replay_webhook", p_webhook_id=webhook_id, p_event_id=event, p_from=since, p_until=until)
    )
    console.print(f"{count} deliveries queued for webhook {webhook_id}")


@events_app.command("purge")
def purge() -> None:
    """Delete the events every consumer has passed and that are older than the retention (30 days by
    default, core.event_settings), in batches that never block writers."""
    from rich.progress import Progress

    total = 0
    with _connect() as conn, Progress(console=console, transient=True) as progress:
        task = progress.add_task("purging", total=None)
        while n := conn.execute(*bind("purge_events")).fetchone()[0]:
            total += n
            progress.update(task, advance=n)
    console.print(f"{total} events purged")


def dispatch(
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due now, then exit.")] = False,
    workers: Annotated[int, typer.Option(help="Requests in flight at once.")] = 8,
    batch: Annotated[int, typer.Option(help="Deliveries leased per round.")] = 64,
    timeout: Annotated[float, typer.Option(help="Seconds before a request is given up.")] = 15.0,
    lease: Annotated[
        float | None,
        typer.Option(help="Seconds a lease lasts (default: timeout + 15): after a crash, the wait."),
    ] = None,
    poll: Annotated[float, typer.Option(help="Safety poll in seconds (NOTIFY wakes it sooner).")] = 0.5,
) -> None:
    """Run the webhook dispatcher: fan events out, sign (Standard Webhooks) and send, retry with
    backoff. Several may run at once (SKIP LOCKED); a killed one's deliveries are sent again by another,
    with the same webhook-id."""
    from . import dispatch as d
    from .server import ready_server

    server = ready_server()
    with d.Dispatcher(
        server.url, workers=workers, batch=batch, timeout=timeout, lease=lease, poll=poll
    ) as dispatcher:
        if once:
            console.print(f"{dispatcher.run_once()} delivery attempts")
            return
        signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop.set())
        console.print(
            f"dispatcher {dispatcher.name}: {d.schedule_summary(dispatcher.schedule)}", highlight=False
        )
        try:
            dispatcher.run()
        except KeyboardInterrupt:
            pass

"""Operations commands: ``hotelcore backup``, ``hotelcore restore``, ``hotelcore db replica`` and
``hotelcore migrations lint``. Registered on the main command by :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def register(app: typer.Typer, db_app: typer.Typer, migrations_app: typer.Typer, friendly) -> None:
    """Add the commands; ``friendly`` is the main command's error wrapper (one line, exit 1)."""
    migrations_app.command("lint")(friendly(migrations_lint))
    app.command("backup")(friendly(backup_command))
    app.command("restore")(friendly(restore_command))
    db_app.command("replica")(friendly(replica_command))


def migrations_lint(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list the documented exceptions.")
    ] = False,
) -> None:
    """Lint every revision's DDL with squawk for zero-downtime deploys (locks, rewrites, NOT VALID,
    concurrent indexes); exceptions are documented in the revision. Exit 1 on a finding."""
    from . import migration_lint as ml

    report = ml.lint()
    for finding in report.findings:
        err.print(f"- {finding}", highlight=False, soft_wrap=True)
    for line in report.stale:
        err.print(f"- {line}", highlight=False, soft_wrap=True)
    if verbose:
        for finding, reason in report.excepted:
            console.print(f"excepted: {finding}\n  why: {' '.join(reason.split())}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)
    console.print(
        f"squawk: {report.linted} revisions' DDL clean ({len(report.excepted)} documented exceptions)",
        highlight=False,
    )


# ----------------------------------------------------------------------------- backup, restore, replica


def _fail(exc: Exception) -> None:
    err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def backup_command(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Backup folder: base/ backups and the wal/ archive (default .hotelcore/backup)."
        ),
    ] = None,
    archive_timeout: Annotated[
        int,
        typer.Option(
            help="Seconds after which a WAL segment is archived even if not full: the RPO bound.", min=1
        ),
    ] = 60,
    restart: Annotated[
        bool, typer.Option(help="Restart the embedded server when archiving needs it (first backup only).")
    ] = True,
) -> None:
    """Turn on continuous WAL archiving into --dir/wal, then take a base backup (pg_basebackup)
    into --dir/base/<UTC time>. Run it daily; the archive in between gives point-in-time recovery."""
    from . import backup as bk
    from . import server as srv

    server = srv.get_server()
    server.check()
    layout = bk.Layout((directory or bk.default_backup_dir()).resolve())
    try:
        layout.prepare()
        needs_restart = bk.enable_archiving(server.url, layout, archive_timeout)
        if needs_restart:
            if not server.embedded:
                _fail(
                    bk.BackupError(
                        f"archiving is configured on {srv.config.endpoint_of(server.url)} (ALTER SYSTEM) but "
                        "archive_mode needs a restart: restart that server once, then run hotelcore backup again"
                    )
                )
            if not restart:
                _fail(
                    bk.BackupError("archive_mode needs a restart of the embedded server (drop --no-restart)")
                )
            console.print("restarting the embedded server to turn archive_mode on", highlight=False)
            srv._pg_ctl(
                srv.config.data_dir() / "pgdata",
                ["-w", "-m", "fast", "restart", "-l", str(srv.config.data_dir() / "pgdata" / "log")],
            )
            server = srv.get_server()
            server.check()
        with console.status("pg_basebackup: copying the data folder…"):
            manifest = bk.base_backup(server.url, layout)
        with console.status("waiting for the archive to receive the backup's WAL…"):
            bk.wait_archived(server.url)
    except bk.BackupError as exc:
        _fail(exc)
    console.print(
        f"base backup {manifest['path']} (start LSN {manifest['start_lsn']}, PostgreSQL {manifest['server_version']});"
        f" WAL archived into {layout.wal} at least every {archive_timeout} s",
        highlight=False,
        soft_wrap=True,
    )


def restore_command(
    to: Annotated[
        str, typer.Option("--to", help="ISO 8601 time to recover to (UTC if no offset), or 'latest'.")
    ],
    data: Annotated[Path, typer.Option("--data", help="New, empty data folder for the restored server.")],
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Backup folder written by hotelcore backup (default .hotelcore/backup)."),
    ] = None,
    port: Annotated[
        int, typer.Option(help="Port of the restored server (0: a free one).", min=0, max=65535)
    ] = 0,
) -> None:
    """Point-in-time recovery into a new data folder: the newest base backup before --to, the
    archived WAL replayed up to --to, then promotion. Prints the new server's URL and timings."""
    from . import backup as bk

    try:
        target = None if to.strip().lower() == "latest" else bk.parse_time(to)
        layout = bk.Layout((directory or bk.default_backup_dir()).resolve())
        with console.status("restoring: base backup, then WAL replay…") as status:
            restored = bk.restore(
                layout, data.resolve(), to=target, port=port or None, progress=lambda m: status.update(m)
            )
    except bk.BackupError as exc:
        _fail(exc)
    c = restored.cluster
    console.print(
        f"restored {restored.backup['path']} + archive to "
        f"{restored.recovered_to.isoformat() if restored.recovered_to else 'the backup end'} "
        f"in {restored.seconds:.1f} s\n{c.url()}\nstop it with: {bk.bin_dir() / 'pg_ctl'} -D {c.data} stop",
        highlight=False,
        soft_wrap=True,
    )


def replica_command(
    data: Annotated[
        Path, typer.Option("--data", help="Data folder of the replica (new, or an existing one with --stop).")
    ] = Path(".hotelcore/replica"),
    port: Annotated[int, typer.Option(help="Port of the replica (0: a free one).", min=0, max=65535)] = 0,
    primary: Annotated[
        str | None,
        typer.Option(help="Primary's URL (default: the configured server, DATABASE_URL or embedded)."),
    ] = None,
    stop: Annotated[
        bool,
        typer.Option(
            "--stop", help="Stop the replica running in --data (its slot keeps the WAL it will need)."
        ),
    ] = False,
    remove: Annotated[
        bool,
        typer.Option(
            "--remove",
            help="Stop the replica in --data, drop its replication slot on the primary, delete --data.",
        ),
    ] = False,
) -> None:
    """Start a read replica: a hot standby streaming from the primary through a physical
    replication slot of its own (named after --data). Set DATABASE_REPLICA_URL to the URL it
    prints and the HTTP API sends reads there; SELECT * FROM report.replication_lag on it,
    report.replication_slots on the primary."""
    from . import backup as bk
    from . import server as srv

    folder = data.resolve()
    try:
        if stop:
            bk.Cluster(folder, 0).stop()
            console.print(f"replica in {folder} stopped", highlight=False)
            return
        url = primary
        if url is None:
            server = srv.get_server()
            server.check()
            url = server.url
        if remove:
            slot = bk.remove_replica(url, folder)
            dropped = f"; slot {slot} dropped on the primary" if slot else ""
            console.print(f"replica in {folder} removed{dropped}", highlight=False)
            return
        with console.status("pg_basebackup of the primary, then streaming…"):
            cluster = bk.start_replica(url, folder, port=port or None)
    except bk.BackupError as exc:
        _fail(exc)
    console.print(cluster.url(_database_of(url)), highlight=False)


def _database_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path.lstrip("/") or "postgres"

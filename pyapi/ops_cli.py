"""Operations commands: ``hotelcore backup``, ``hotelcore restore``, ``hotelcore db replica`` and
``hotelcore migrations lint``. Registered on the main command by :func:`register`."""

from __future__ import annotations

from typing import Annotated

import typer

from .cli import console, err, friendly


def register(app: typer.Typer, db_app: typer.Typer, migrations_app: typer.Typer) -> None:
    migrations_app.command("lint")(friendly(migrations_lint))


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

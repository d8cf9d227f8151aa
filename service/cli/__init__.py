"""The `broadband` command: one module per command group, put together here."""

from __future__ import annotations

import typer

from service.cli import (
    backup,
    changes,
    coverage,
    data,
    database,
    maps,
    report,
    serve,
    tokens,
    users,
)

app = typer.Typer(help="Broadband coverage service.", no_args_is_help=True)
app.add_typer(database.db_app, name="db")
app.command()(database.migrate)
app.command()(data.seed)
app.command("import")(data.import_command)
app.command("export")(data.export_command)
app.command()(coverage.coverage)
app.command()(changes.changes)
app.command("map")(maps.map_command)
app.command("report")(report.report_command)
app.command("backup")(backup.backup_command)
app.command("restore")(backup.restore_command)
app.add_typer(tokens.token_app, name="token")
app.add_typer(users.user_app, name="user")
app.command()(serve.serve)

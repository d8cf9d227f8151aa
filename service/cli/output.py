"""What every command prints with: one console, one error console, one way to fail."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from service.core.errors import DomainError, InvalidDataError

console = Console()
errors = Console(stderr=True)


def fail(error: DomainError) -> typer.Exit:
    """Print a domain error with every problem it lists; the command exits with 1."""
    text = error.describe() if isinstance(error, InvalidDataError) else str(error)
    errors.print(f"[bold red]error:[/] {text}", highlight=False, markup=True)
    return typer.Exit(code=1)


def spinner() -> Progress:
    """A spinner with the current step and the time spent, for the long commands."""
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    )

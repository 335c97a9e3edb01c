"""What every ``trustdesk`` command shares: one unit of work per command, clear errors, ``--json``."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from sqlalchemy.orm import Session

from trustdesk.app import Container, build_container
from trustdesk.config import SettingsError, load_settings
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


P = ParamSpec("P")


R = TypeVar("R")


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Expected failures print one clear line and exit 2; the rolled-back transaction changed nothing."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            where = f" ({exc.field})" if exc.field else ""
            raise fail(f"{exc.message}{where}") from None
        except SettingsError as exc:
            raise fail(str(exc)) from None

    return wrapper


def container() -> Container:
    return build_container(load_settings())


def long_running_container() -> Container:
    """The container of a command that keeps running (serve, workers, the deadline monitor): in production,
    refused while the demo data exists (``productionguard``); a short command an operator runs to clean up
    is not."""
    from trustdesk import productionguard

    c = container()
    try:
        productionguard.ensure_fit_for_production(c)
    except BaseException:
        c.engine.dispose()
        raise
    return c


@contextmanager
def work() -> Iterator[tuple[Container, Session]]:
    c = container()
    try:
        with unit_of_work(c.sessions) as session:
            yield c, session
    finally:
        c.engine.dispose()


def emit(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, indent=2, default=str) if as_json else text)

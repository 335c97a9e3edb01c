"""A Rich progress bar over the bytes of a file, for the CLI's long reads (``trustdesk bank import``).

The readers in ``safety.importers`` report bytes consumed through an ``on_progress`` callback; this
yields such a callback::

    with import_progress(path, ["checking", "importing"]) as (check, store):
        report = banks.import_file(..., on_check=check, on_store=store)
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


@contextmanager
def import_progress(
    path: Path,
    phases: Sequence[str],
    *,
    console: Console | None = None,
    transient: bool = False,
    disable: bool = False,
) -> Iterator[list[Callable[[int], None]]]:
    """One bar sized to ``path`` per phase (checking, importing); yields each one's ``advance(bytes)``."""
    total = Path(path).stat().st_size
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=disable,
    )
    with progress:
        tasks = [progress.add_task(phase, total=total) for phase in phases]

        def advancer(task: TaskID) -> Callable[[int], None]:
            return lambda done: progress.update(task, completed=min(done, total))

        yield [advancer(task) for task in tasks]

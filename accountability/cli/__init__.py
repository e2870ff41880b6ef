"""The command line: a few library calls per command, errors turned into one message each.

The group, the shared options and the error handling live here; each command group has its module.

Exit 0 on success, 1 on a data error (message on stderr), 2 on a usage error.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import sys
import traceback
from typing import Any, Callable, Iterator

import click
import orjson

from accountability import settings
from accountability.errors import AccountabilityError
from graph_schema import InvalidSchema

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: Callable) -> Callable:
    """The one place where errors become messages (a traceback only with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, debug: bool = False, **kwargs: Any) -> Any:
        try:
            _far_date(kwargs.get("as_of"))
            return func(*args, **kwargs)
        except AccountabilityError as exc:
            if debug:
                traceback.print_exc()
            _fail(str(exc), exc.exit_code)
        except InvalidSchema as exc:
            if debug:
                traceback.print_exc()
            _fail(f"invalid schema or ruleset: {exc}", 1)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper


def _far_date(value: Any) -> None:
    """A warning on stderr for an --as-of far from today (a typing mistake, most likely); nothing else changes."""
    from accountability.dates import far_from_today
    from accountability.session import parse_date

    on = parse_date(value, "as_of") if isinstance(value, str) else None
    days = far_from_today(on) if on else 0
    if days:
        click.echo(f"warning: --as-of {on} lies {abs(days):,} days {'after' if days > 0 else 'before'} today; "
                   "is it a typing mistake?", err=True)


def common(func: Callable) -> Callable:
    """Options every command accepts after its name."""
    func = handle_errors(func)
    func = click.option("--debug", is_flag=True, envvar="ACCOUNTABILITY_DEBUG", help="Show tracebacks.")(func)
    return func


def store_option(func: Callable) -> Callable:
    return click.option(
        "--store", default=lambda: settings.get("store"), show_default="ACCOUNTABILITY_STORE or accountability.db",
        help="SQLite file or bolt:// / neo4j:// URI.",
    )(func)


def quiet_option(func: Callable) -> Callable:
    return click.option("--quiet", "-q", is_flag=True,
                        help="No progress bar (there is none either when stderr is not a terminal).")(func)


def rules_option(func: Callable) -> Callable:
    return click.option("--rules", default=None, metavar="NAME|FILE",
                        help="A ruleset: reference-v1, reference-v2, or a YAML file (default: "
                             "ACCOUNTABILITY_RULES, else the reference rules).")(func)


def lang_option(func: Callable) -> Callable:
    return click.option("--lang", type=click.Choice(["zh", "en"]), default=lambda: settings.get("lang"),
                        show_default="zh", help="Language of labels and explanations.")(func)


def format_option(*choices: str, default: str = "table") -> Callable:
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True,
                        help="Output format.")


def output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An ``-o FILE`` whose folder exists: said at once, as a usage error, rather than as a traceback
    after the work is done."""
    if value and value != "-":
        folder = os.path.dirname(value)
        if folder and not os.path.isdir(folder):
            raise click.BadParameter(f"the folder '{folder}' does not exist (create it first, or write elsewhere)",
                                     ctx, param)
    return value


def authorize(action: str, store: str | None = None):
    """The command line's user (see ``accountability.access``; failed sign-ins counted with ``store``, by
    default the command's ``--store``), refused unless they may take ``action``."""
    from accountability.access import cli_user

    user = cli_user(store)
    user.require(action)
    return user


def open_session(store: str, rules: str | None = None, readonly: bool = False, action: str = "view"):
    """A session on ``store`` for the command line's user, who must be allowed ``action``."""
    from accountability.session import Session

    session = Session(store, rules=rules, readonly=readonly, user=authorize(action, store))
    if _left_to_exit is not None:
        _left_to_exit.append(session)
    return session


# Sessions the program leaves for its end (see ``run``); None when the CLI runs inside another program.
_left_to_exit: list | None = None


def leave_heap_to_exit() -> None:
    """From now on, sessions are not freed when their command ends: the process's end does it (``run``)."""
    global _left_to_exit
    _left_to_exit = []


def run() -> None:
    """The ``accountability`` program: ``main``, then an exit that leaves the heap to the operating system.

    A batch command holds millions of small objects (the graph, the engine's parts); freeing them one by
    one costs about 2 s at province scale and serves nothing once the output is flushed and the stores
    are closed. Exit handlers (a Neo4j server to stop, logging) still run."""
    leave_heap_to_exit()
    try:
        main()
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(code or 0)


@contextlib.contextmanager
def recorded(session, output: str | None, **facts: Any) -> Iterator[None]:
    """Run an export inside one snapshot of the store; when it goes to a file, write next to it
    ``FILE.provenance.json``: the dataset, the audit position it was read at, when, who and ``facts``."""
    from accountability import audit
    from accountability.access import NOBODY_CONFIGURED

    signed_in = session.user is not NOBODY_CONFIGURED  # else the audit trail's own name for who runs it
    with session.store.snapshot():
        record = audit.provenance(session.store, session.user.name if signed_in else None, session.user.scope,
                                  **facts) if output else None  # stdout carries no stamp: nothing to check
        yield
    if output:
        with open(f"{output}.provenance.json", "wb") as f:
            f.write(orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n")


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="accountability")
def main() -> None:
    """Who is accountable for every unresolved work-safety hazard, why, and since when.

    党政同责、一岗双责、齐抓共管、失职追责 — traced over a graph of posts, people and places.
    """


# Each module below adds its commands to ``main``; one module per concern.
from accountability.cli import data, trace  # noqa: E402,F401
from accountability.cli import calibrate  # noqa: E402,F401
from accountability.cli import campaigns  # noqa: E402,F401  (campaign, lookback, measures: #16)

for _optional in ("query", "report", "neo4j", "audit", "users", "duty"):
    try:
        __import__(f"accountability.cli.{_optional}")
    except ModuleNotFoundError as _exc:  # a command group not built yet
        if _exc.name != f"accountability.cli.{_optional}":
            raise

if __name__ == "__main__":
    run()

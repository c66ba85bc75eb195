"""The ``hsiwq`` command line: one module per command group.

Every command prints one clear line on bad input and exits non-zero, without a traceback
unless ``--debug`` is given. Commands contributed by other packages (e.g. the Prefect
``flows`` package: ``demo``, ``run-site``) are loaded from the ``hsiwq.commands`` entry-point
group, so the library itself never imports Prefect.
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import click

from ..errors import HsiwqError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


@dataclass
class Context:
    """Options shared by every command."""

    home: str | None
    config: str | None
    debug: bool

    def workspace(self):  # -> Workspace (imported lazily to keep --help fast)
        from ..workspace import Workspace

        return Workspace.resolve(self.home)

    def load_config(self):
        from ..config import load_config

        ws = self.workspace()
        return load_config(self.config or ws.config_file, workspace=ws)


class _Group(click.Group):
    """A group that also lists plugin commands from the ``hsiwq.commands`` entry points."""

    def _plugins(self) -> dict[str, click.Command]:
        found: dict[str, click.Command] = {}
        for ep in entry_points(group="hsiwq.commands"):
            try:
                cmd = ep.load()
            except Exception as exc:  # a broken plugin must not break the CLI
                warnings.warn(f"hsiwq: command plugin {ep.name!r} failed to load: {exc}", stacklevel=2)
                continue
            if isinstance(cmd, click.Command):
                found[ep.name] = cmd
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._plugins().get(name)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="HSIWQ_HOME", metavar="DIR",
              help="Workspace folder for all state (store, registry, alerts, Prefect); "
                   "default $HSIWQ_HOME or ~/.hsiwq.")
@click.option("--config", metavar="FILE", help="Site configuration (default <home>/sites.toml, "
                                               "else the bundled sample sites).")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="hsiwq")
@click.pass_context
def cli(ctx: click.Context, home: str | None, config: str | None, debug: bool) -> None:
    """Hyperspectral water-quality inversion for shore-mounted monitors."""
    ctx.obj = Context(home=home or None, config=config, debug=debug)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


from .chain import correct, process, simulate, status  # noqa: E402  (register commands)

cli.add_command(simulate)
cli.add_command(correct)
cli.add_command(process)
cli.add_command(status)

#: Modules holding further built-in commands, each exposing ``COMMANDS`` (a list of click
#: commands): the store (series, compact), alerts, models and reports. A module that fails to
#: import is an error (never a silent skip).
_COMMAND_MODULES = ("store", "alerts", "models", "report", "maps")
for _name in _COMMAND_MODULES:
    _module = importlib.import_module(f"{__name__}.{_name}")
    for _cmd in _module.COMMANDS:
        cli.add_command(_cmd)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``hsiwq`` console script."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="hsiwq", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("hsiwq: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HsiwqError as exc:
        if debug:
            raise
        click.echo(f"hsiwq: error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except SystemExit:
        raise
    except Exception as exc:  # anything unexpected: one line, traceback only with --debug
        if debug:
            raise
        text = " ".join(str(exc).split())
        click.echo(f"hsiwq: internal error: {type(exc).__name__}: {text} "
                   "(run with --debug for the traceback)", err=True)
        sys.exit(EXIT_INTERNAL)

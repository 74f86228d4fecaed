"""The ``bizproc`` command: subcommands are the ``*_cmd`` modules of this package, found at start."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = ["SubcommandModule", "build_parser", "main"]

Runner = Callable[[argparse.Namespace], int]


class SubcommandModule(Protocol):
    """A ``<name>_cmd`` module: ``register(subparsers)`` adds its parser and sets ``run`` as a default."""

    def register(self, subparsers: argparse._SubParsersAction[Any]) -> None:
        """Add the subcommand's parser to ``subparsers``."""
        ...


def _subcommand_modules() -> list[SubcommandModule]:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if info.name.endswith("_cmd"))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered subcommand."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="bizproc", description="Bitrix24 business processes from the shell."
    )
    parser.add_argument("--version", action="version", version=f"bizproc (bitrix_bizproc) {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _subcommand_modules():
        module.register(subparsers)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Each subcommand's parser records itself, so that errors show that subcommand's usage."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.set_defaults(_parser=sub)  # the innermost subcommand's default wins
                _remember_parsers(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bizproc``; the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # an unknown option: say so with the usage of the subcommand it was given to
        getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    run: Runner | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    return run(args)

"""The command layer: every argparse parser of ``skybench``, and nothing else.

Each module here registers its subcommands (``register(subparsers) -> None``) and sets ``handler``: it turns
the parsed arguments into a frozen options dataclass and calls a plain function of the layers below, which
never see an ``argparse.Namespace``. The dispatcher (``harness.cli``) lists the modules; the error policy
every handler runs under is ``harness.commands.errors``. This file imports nothing, so that importing one
command module loads no other.
"""

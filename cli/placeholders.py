"""Placeholders in help that read as words: ``register FILE``, ``--dataset DATASET``,
``--format table|json|markdown|html``, never typer's ``{file}``, ``<str>`` or ``<list[str]>``.

An option's or argument's own ``metavar`` wins; without one, the placeholder is the
parameter's name in capitals (a choice lists its values). ``name_placeholders`` applies
this to every command of the app once, when the root group is built.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption

__all__ = ["name_placeholders"]


class WordArgument(TyperArgument):
    """An argument shown by its placeholder alone: ``FILE`` in the usage line (``[FILE]``
    when optional) and in the list of arguments, with no type after it."""

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.metavar or self.name or ""
        if not self.required:
            name = f"[{name}]"
        return [name + ("..." if self.nargs != 1 else "")]

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _placeholder(param: TyperArgument | TyperOption) -> str:
    choices = param.type_descriptor.choices if param.type_descriptor.is_choice else None
    if choices:
        return "|".join(str(getattr(c, "value", c)) for c in choices)
    return (param.name or "value").upper()


def name_placeholders(command: Any) -> None:
    """Give every parameter of ``command`` and its subcommands a word as placeholder."""
    for sub in getattr(command, "commands", {}).values():
        name_placeholders(sub)
    for param in getattr(command, "params", []):
        if isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = _placeholder(param)
            param.__class__ = WordArgument  # same fields, word-only rendering
        elif isinstance(param, TyperOption) and not param.is_flag and param.metavar is None:
            param.metavar = _placeholder(param)

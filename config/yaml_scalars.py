"""Unquoted YAML scalars whose meaning depends on which YAML reader reads them.

Pulumi's CLI reads stack files with a YAML 1.2 reader (gopkg.in/yaml.v3): `yes`, `no`, `on`,
`off`, `y`, `n` stay text, but `0123` is still taken as octal (83) and `08` as the float 8. PyYAML,
which the offline plan uses, is a YAML 1.1 reader: `yes` is true, `1:30` is 90, `2024-01-31` a
date. Either way the value that reaches the program is not what the file seems to say, so such a
scalar is refused wherever it sits, with its line and the quoted spelling that keeps it as text.
(Decimals such as `1.30` -> 1.3 are refused by the models, where a number is not expected.)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from config.errors import Problem
from config.masking import MASK, secret_like_name
from config.settings import SECRET_KEYS

_YAML11_BOOLEANS = {word: True for word in ("y", "Y", "yes", "Yes", "YES", "on", "On", "ON")} | {
    word: False for word in ("n", "N", "no", "No", "NO", "off", "Off", "OFF")
}
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
_BASE_60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?")


@dataclass(frozen=True)
class AmbiguousScalar:
    """One unquoted scalar that YAML readers take differently from how it reads."""

    path: tuple[str | int, ...]
    """Where it sits: mapping keys and list indexes from the top of the document."""
    line: int
    """1-based line in the file."""
    text: str
    """The scalar as written."""
    meaning: str
    """What a reader turns it into, in words."""


def _meaning(text: str) -> str | None:
    if text in _YAML11_BOOLEANS:
        return (
            f"is {str(_YAML11_BOOLEANS[text]).lower()} to YAML 1.1 readers (the offline plan) but the text "
            f'"{text}" to Pulumi\'s reader'
        )
    if _LEADING_ZERO.fullmatch(text):
        digits = text.lstrip("+-").replace("_", "")
        if set(digits) <= set("01234567"):
            return f"is read as the octal number {int(digits, 8)} (leading zero)"
        return "is read as a number by some YAML readers and as text by others (leading zero)"
    if _BASE_60.fullmatch(text):
        return "is read as a base-60 number by YAML 1.1 readers (1:30 becomes 90) and as text by Pulumi's"
    if _DATE.fullmatch(text):
        return "is read as a date or time, not as text"
    return None


def _walk(node: yaml.Node, path: tuple[str | int, ...], found: list[AmbiguousScalar]) -> None:
    if isinstance(node, yaml.ScalarNode):
        meaning = _meaning(node.value) if node.style is None else None
        if meaning is not None:
            found.append(AmbiguousScalar(path, node.start_mark.line + 1, node.value, meaning))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), found)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            _walk(key, (*path, name), found)
            _walk(value, (*path, name), found)


@functools.lru_cache(maxsize=16)
def ambiguous_scalars(text: str) -> tuple[AmbiguousScalar, ...]:
    """Every unquoted scalar of a YAML document whose meaning depends on the reader, in file order.

    ``text`` must already parse (the stack-file reader reports syntax errors first).
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    found: list[AmbiguousScalar] = []
    if root is not None:
        _walk(root, (), found)
    return tuple(found)


def _key(path: tuple[str | int, ...]) -> tuple[str, str | None]:
    """(key below its namespace, namespace) of a stack-file path such as ("config", "ns:tags", "owner")."""
    parts = list(path)
    namespace: str | None = ""
    if len(parts) >= 2 and parts[0] == "config" and isinstance(parts[1], str):
        full = parts[1]
        namespace, _, name = full.rpartition(":")
        parts = [name, *parts[2:]]
        namespace = namespace or None  # a key without a namespace is the project's
    key = ""
    for part in parts:
        if isinstance(part, int):
            key += f"[{part}]"
        elif key and not _PLAIN_KEY.fullmatch(part):
            key += f'["{part}"]'
        else:
            key += f".{part}" if key else part
    return key, namespace


def scalar_problems(text: str, file_name: str) -> list[Problem]:
    """One problem per ambiguous scalar of a stack or project file, naming the key, file and line."""
    problems = []
    for scalar in ambiguous_scalars(text):
        key, namespace = _key(scalar.path)
        if any(isinstance(part, str) and secret_like_name(part.split(":")[-1], SECRET_KEYS) for part in scalar.path):
            # A credential in plain text: say where, never what.
            problems.append(
                Problem(
                    key,
                    f"unquoted value {MASK} ({file_name} line {scalar.line}) that YAML readers do not all take as "
                    "text; write it in quotes",
                    namespace=namespace,
                )
            )
            continue
        switch = ", or true/false for a switch" if scalar.text in _YAML11_BOOLEANS else ""
        problems.append(
            Problem(
                key,
                f"unquoted {scalar.text} ({file_name} line {scalar.line}) {scalar.meaning}; write it in quotes, "
                f'"{scalar.text}", to keep the text{switch}',
                namespace=namespace,
            )
        )
    return problems


def stack_file_problems(directory: str | Path | None, stack: str) -> list[Problem]:
    """`scalar_problems` of `Pulumi.yaml` and `Pulumi.<stack>.yaml` in ``directory`` (none without a directory)."""
    if not directory:
        return []
    problems = []
    for name in ("Pulumi.yaml", f"Pulumi.{stack}.yaml"):
        path = Path(directory) / name
        if path.is_file():
            problems += scalar_problems(path.read_text(), name)
    return problems

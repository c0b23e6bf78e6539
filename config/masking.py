"""Recognise values that are, or look like, credentials, so no error line ever echoes one.

Two independent tests: the key's name (password, token, privateKey, ..., or close to one
of the program's secret keys) and the value's shape (PEM blocks, known token prefixes,
AWS key shapes, credentials in URLs, long random-looking strings).
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

MASK = "[secret]"
_NAME_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "privatekey",
    "sshkey",
    "apikey",
    "accesskey",
    "credential",
    "bearer",
)
_SHAPES = (
    re.compile(r"-----BEGIN[^\n]*?-----.*?(-----END[^\n]*?-----|\Z)", re.DOTALL),  # PEM / OpenSSH keys
    re.compile(r"PRIVATE KEY"),
    re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})"),  # GitHub
    re.compile(r"\bglpat-[A-Za-z0-9_-]{16,}"),  # GitLab
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key id
    re.compile(r"://[^/\s:@]+:[^/\s@]+@"),  # user:password@ in a URL
)
# An AWS secret access key: 40 base64 characters (a secret only when it mixes character classes).
_AWS_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_WORD = re.compile(r"[A-Za-z0-9+/=_-]{20,}")


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def secret_like_name(name: str, secret_keys: Iterable[str] = ()) -> bool:
    """True for a key name that says it holds a credential, or is close to a secret key's name."""
    norm = _normalised(name)
    if any(part in norm for part in _NAME_PARTS):
        return True
    known = [_normalised(key) for key in secret_keys]
    return bool(norm and difflib.get_close_matches(norm, known, n=1, cutoff=0.75))


def _classes(text: str) -> list[str]:
    return ["a" if c.islower() else "A" if c.isupper() else "0" if c.isdigit() else c for c in text]


def _mixed(text: str) -> bool:
    return {"a", "A", "0"} <= set(_classes(text))


def _random_looking(word: str) -> bool:
    """A long word mixing cases and digits, switching between them often (not camelCase words)."""
    if not _mixed(word):
        return False
    classes = _classes(word)
    switches = sum(1 for left, right in itertools.pairwise(classes) if left != right)
    counts = Counter(word)
    entropy = -sum(n / len(word) * math.log2(n / len(word)) for n in counts.values())
    return switches / (len(word) - 1) >= 0.45 and entropy >= 3.5


def scrub_text(text: str) -> str:
    """``text`` with every secret-shaped part replaced by [secret]."""
    for shape in _SHAPES:
        text = shape.sub(MASK, text)
    text = _AWS_SECRET_KEY.sub(lambda m: MASK if _mixed(m.group(0)) else m.group(0), text)
    return _WORD.sub(lambda m: MASK if _random_looking(m.group(0)) else m.group(0), text)


def looks_secret(text: str) -> bool:
    """True when ``text`` is, or contains, something shaped like a credential."""
    return scrub_text(text) != text


def masked(value: Any, secret_keys: Iterable[str] = ()) -> Any:
    """``value`` with secret-looking strings, and entries under secret-like keys, replaced by [secret]."""
    if isinstance(value, str):
        return MASK if looks_secret(value) else value
    if isinstance(value, dict):
        return {
            key: MASK if secret_like_name(str(key), secret_keys) else masked(item, secret_keys)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [masked(item, secret_keys) for item in value]
    return value

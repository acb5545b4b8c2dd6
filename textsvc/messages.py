"""User-facing messages of the non-lexicon rules, per language (``corpora/messages/<lang>.toml``)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from textsvc.errors import PolicyError


class Messages:
    """Message templates of one language; ``get("profile", "SENDER_VISITED_PROFILE.failed")``."""

    def __init__(self, data: dict[str, Any], lang: str) -> None:
        self.lang = lang
        self._data = data
        self.greetings = frozenset(data.get("greetings", ()))
        self.titles = frozenset(data.get("titles", ()))
        self.not_names = frozenset(data.get("not_names", ()))
        self.common_acronyms = frozenset(data.get("common_acronyms", ()))

    def get(self, section: str, key: str, **values: Any) -> str:
        node: Any = self._data[section]
        for part in key.split("."):
            node = node[part]
        return str(node).format(**values)


def load_messages(root: Path, lang: str) -> Messages:
    path = root / f"{lang}.toml"
    try:
        return Messages(tomllib.loads(path.read_text(encoding="utf-8")), lang)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: {exc}") from exc

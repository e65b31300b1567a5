"""Where the package data lives: installed (slapolicy.grammar, slapolicy.policies) or in the checkout."""
from __future__ import annotations

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]
VOCABULARY_FILE = "vocabulary.yaml"  # a repository's vocabulary extension (slapolicy.language.vocabulary)


def data_dir(name: str):
    """The directory of package data `name` ("grammar" or "policies") as a Traversable/Path."""
    local = _CHECKOUT / name
    if (local / "__init__.py").exists():  # running from the checkout (or an editable install)
        return local
    from importlib import resources  # (only when installed: it costs a start several ms)

    return resources.files(f"slapolicy.{name}")


def policies_dir() -> Path:
    return Path(str(data_dir("policies")))

"""Where the package data lives: installed (slapolicy.grammar, slapolicy.policies) or in the checkout."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # slapolicy/ (engine/ in a checkout)
_CHECKOUT = _PACKAGE.parent
VOCABULARY_FILE = "vocabulary.yaml"  # a repository's vocabulary extension (slapolicy.language.vocabulary)


def data_dir(name: str):
    """The directory of package data `name` ("grammar" or "policies") as a Traversable/Path."""
    beside = _PACKAGE / name
    if (beside / "__init__.py").exists():  # installed as files: the data beside the modules
        return beside
    local = _CHECKOUT / name
    if (local / "__init__.py").exists():  # running from the checkout (or an editable install)
        return local
    from importlib import resources  # (only for an install that is not plain files, e.g. a zip: it costs ~8 ms)

    return resources.files(f"slapolicy.{name}")


def policies_dir() -> Path:
    return Path(str(data_dir("policies")))

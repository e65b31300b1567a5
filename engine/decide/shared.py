"""Decisions that are only serialised (`shared=True`, slapolicy.api.Policy.decide): parts kept from an earlier
ticket are handed out as orjson.Fragment, their JSON shared instead of copied (an orjson.loads copy of a
kept why_not entry of ~1 KB cost ~4 us, about half of what handing out a kept entry cost).

`Entries` is the list that holds them, with each fragment's JSON by position, so that `plain` can give plain
values back for a serialiser that is not orjson (the standard library's, the fallback for what orjson
refuses) or a caller that wants to read the decision after all. Also here: the JSON helpers of why_not's
kept answers (`compact`, `as_json`, `keep_entry`; slapolicy.decide.whynot `_kept`)."""
from __future__ import annotations

try:
    import orjson
except ImportError:  # pragma: no cover - a dependency (slapolicy.decide.jsonio reads JSON without it)
    orjson = None


class Entries(list):
    """a list whose items may be orjson.Fragment; `texts`: position -> the fragment's JSON"""
    __slots__ = ("texts",)

    def __init__(self):
        super().__init__()
        self.texts: dict = {}

    def append_kept(self, fragment, text: bytes) -> None:
        self.texts[len(self)] = text
        self.append(fragment)


def plain(obj):
    """obj with every Entries' fragments read back into plain values (lists and dicts copied on the way)"""
    if isinstance(obj, Entries):
        texts = obj.texts
        return [orjson.loads(texts[i]) if i in texts else plain(v) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


def compact(data: bytes) -> bytes:
    """a copy of orjson's output of its own size (orjson's bytes keep their 4 KiB buffer: 8,192 kept answers and
    keys took ~70 MB instead of ~10)"""
    return bytes(memoryview(data))


def as_json(answer) -> bytes:
    """a kept answer as JSON when it reads back equal (plain JSON values: the answers are), else b"" (not kept):
    a copy read back from it is the answer itself"""
    try:
        text = orjson.dumps(answer)
    except TypeError:
        return b""
    return text if orjson.loads(text) == answer else b""


def keep_entry(answers: dict, key, entry):
    """(orjson.Fragment, its JSON) of a why_not entry of a shared decision, kept in `answers` under `key`: only
    serialised, so orjson's bytes are the entry whatever Python types it holds (no read-back check); the entry
    itself, not kept, when orjson refuses it"""
    try:
        text = compact(orjson.dumps(entry))
    except TypeError:
        answers[key] = b""
        return entry
    kept = answers[key] = (orjson.Fragment(text), text)
    return kept

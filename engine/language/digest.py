"""SHA-256 hex digests for content hashes and cache keys, without paying for OpenSSL at start-up.

`hashlib` loads OpenSSL (`_hashlib`, 4-9 ms of a start here); the interpreter's own SHA-256 module
(`_sha2` from Python 3.12, `_sha256` before) computes the same digest and loads in a fraction of a
millisecond, but hashes ~10x slower, so texts larger than _SMALL still go through hashlib.
"""
from __future__ import annotations

_SMALL = 1 << 18  # 256 KiB: a bundled policy is 20-60 KiB


def _builtin():
    try:
        from _sha2 import sha256  # Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # Python 3.11
        except ImportError:  # an interpreter built without it
            return None
    return sha256


_sha256 = _builtin()


def sha256_hex(data: bytes) -> str:
    if _sha256 is not None and len(data) <= _SMALL:
        return _sha256(data).hexdigest()
    import hashlib

    return hashlib.sha256(data).hexdigest()


def text_digest(text: str) -> str:
    """sha256_hex of a text's UTF-8 (a policy text: computed once by its load and passed down to the content
    hash and the compile cache's key)"""
    return sha256_hex(text.encode("utf-8"))

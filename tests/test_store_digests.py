"""The policy watcher reads a file again only when its stat changed or it changed too recently to trust its
stat (slapolicy.service.store: `_fingerprint`'s digests, git's "racily clean" rule), and still notices every
change of content, one that puts the size and the modification time back included."""
from __future__ import annotations

import os
import shutil

import pytest
from conftest import FIXTURES

from slapolicy.language import load as load_module
from slapolicy.service import store as store_module
from slapolicy.service.store import PolicyStore


@pytest.fixture
def reads(monkeypatch):
    """the names of the files the watcher read (through the one safe reader), in order"""
    got = []
    real = load_module.read_policy_file

    def counting(path, name, *args, **kwargs):
        got.append(name)
        return real(path, name, *args, **kwargs)

    monkeypatch.setattr(load_module, "read_policy_file", counting)
    return got


def served(tmp_path):
    directory = tmp_path / "p"
    directory.mkdir()
    shutil.copy(FIXTURES / "mini.yaml", directory / "mini.yaml")
    store = PolicyStore(directory)
    store.poll()
    assert store.snapshot.policies["mini"].version == "1"
    return directory, store


def test_an_unchanged_file_is_not_read_again_once_it_is_old_enough(tmp_path, reads, monkeypatch):
    monkeypatch.setattr(store_module, "RACY_NS", 0)  # (a file of a moment ago counts as old)
    directory, store = served(tmp_path)
    before = len(reads)
    for _ in range(5):
        assert store.poll() is False
    assert reads[before:] == []  # stat()ed each poll, never read


def test_a_file_changed_just_before_it_was_read_is_read_on_every_poll(tmp_path, reads, monkeypatch):
    monkeypatch.setattr(store_module, "RACY_NS", 10**15)  # (however slow the machine: written within it)
    directory, store = served(tmp_path)
    before = len(reads)
    for _ in range(3):
        store.poll()
    assert reads[before:] == ["mini.yaml"] * 3


def test_a_rewrite_that_puts_size_and_mtime_back_is_still_noticed(tmp_path, reads, monkeypatch):
    monkeypatch.setattr(store_module, "RACY_NS", 0)
    directory, store = served(tmp_path)
    path = directory / "mini.yaml"
    old = path.stat()
    text = path.read_text("utf-8")
    path.write_text(text.replace('version: "1"', 'version: "2"'), "utf-8")  # the same size
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))  # and the same modification time
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (old.st_size, old.st_mtime_ns)
    store.poll()  # changed (its ctime moved): waits to stand still
    assert "mini" in store.snapshot.pending and store.snapshot.policies["mini"].version == "1"
    store.poll()
    assert store.snapshot.policies["mini"].version == "2" and not store.snapshot.pending


def test_a_file_gone_takes_its_digest_with_it(tmp_path, reads, monkeypatch):
    monkeypatch.setattr(store_module, "RACY_NS", 0)
    directory, store = served(tmp_path)
    shutil.copy(FIXTURES / "mini.yaml", directory / "other.yaml")
    store.poll()
    store.poll()
    assert set(store._digests) == {"mini.yaml", "other.yaml"}
    (directory / "other.yaml").unlink()
    store.poll()
    assert set(store._digests) == {"mini.yaml"}

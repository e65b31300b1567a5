"""evaluate --jsonl over blocks of binary lines and forked workers: every line read once, in order, with the
same records from one worker and from several (slapolicy.decide.jsonio.read_blocks, slapolicy.decide.parallel)."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BASE_TICKET
from hypothesis import given, settings
from hypothesis import strategies as st
from slapolicy.decide import jsonio
from slapolicy.decide.parallel import forked_map

ROOT = Path(__file__).resolve().parent.parent

line_text = st.one_of(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), st.just(b"x" * 30 + b"\r"))


@settings(max_examples=300, deadline=None)
@given(st.lists(line_text, max_size=30), st.booleans(), st.integers(1, 50), st.integers(1, 35))
def test_blocks_hold_the_lines_read_lines_gives(lines, last_newline, size, limit):
    text = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    expected = [None if line is None else line[:-1] if line.endswith(b"\n") else line
                for line in jsonio.read_lines(io.BytesIO(text), limit)]
    got, numbers = [], []
    for first, parts in jsonio.read_blocks(io.BytesIO(text), size, limit):
        numbers.append(first)
        assert first == len(got) + 1  # each block knows the number of its first line
        got.extend(jsonio.lines_of(parts, limit))
    assert got == expected


def _square(x):
    if x == 57:
        raise ValueError("fifty-seven")
    return x * x


def _parent_of(entry: Path) -> str | None:
    """the parent pid of a /proc entry; None for a process that ended while the directory was read"""
    try:
        return (entry / "stat").read_text().split(") ")[-1].split()[1]
    except (FileNotFoundError, ProcessLookupError):
        return None


def _children():
    if not Path("/proc").is_dir():
        return set()
    return {int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent_of(p) == str(os.getpid())}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_forked_map_keeps_the_order_and_raises_a_worker_error():
    before = _children()
    assert list(forked_map(_square, range(40), 3)) == [x * x for x in range(40)] == list(forked_map(_square, range(40), 1))
    with pytest.raises(ValueError, match="fifty-seven"):
        list(forked_map(_square, range(100), 2))
    taken = []
    for value in forked_map(_square, range(1000), 2):  # stopped early: the workers are stopped too
        taken.append(value)
        if len(taken) == 5:
            break
    assert taken == [0, 1, 4, 9, 16]
    assert _children() == before  # every worker was waited for


def test_workers_write_the_records_one_worker_writes(tmp_path):
    """more than two blocks of lines (1 MiB each), bad lines among them: the same bytes from 1 and 2 workers"""
    from slapolicy.api import load_policy
    from slapolicy.tools.corpus import generate

    good = [json.dumps(t).encode() for t in generate(load_policy("bitrix-inc"), 5000, 7)]
    good[1] += b"\r"  # CRLF: a good line
    bad = [b"{", b"", b'{"id": "T-1"}', b"[" * 40 + b"]" * 40, b"\xff\xfe", json.dumps(BASE_TICKET).encode()[:-1]]
    lines = [line for i, g in enumerate(good) for line in ([g] if i % 97 else [g, bad[i // 97 % len(bad)]])]
    data = b"\n".join(lines) + b"\n"
    assert len(data) > 2.5 * 2 ** 20
    path = tmp_path / "tickets.jsonl"
    path.write_bytes(data)
    outs = {}
    for workers in ("1", "2"):
        p = subprocess.run([sys.executable, str(ROOT / "cli.py"), "evaluate", "--policy", "bitrix-inc", "--jsonl",
                            "--no-explain", "--workers", workers, str(path)], capture_output=True, cwd=ROOT, timeout=300)
        assert p.returncode == 2 and b"Traceback" not in p.stderr
        outs[workers] = (p.stdout, p.stderr)
    assert outs["1"] == outs["2"]
    records = [json.loads(line) for line in outs["1"][0].splitlines()]
    assert len(records) == len(lines)  # lines out == lines in
    errors = [r["line"] for r in records if "error" in r]
    assert errors == [i + 1 for i, line in enumerate(lines) if line in bad]

"""`slapolicy import`: the command's work, kept out of the click layer (cli.py)."""
from __future__ import annotations

import json

from slapolicy.language.diagnostics import InputError, PolicyError
from slapolicy.tools.adapters.importer import import_records
from slapolicy.tools.adapters.mapping import load_mapping

BAD_INPUT = 2


def run_import(fmt, mapping_file, source, check_only, out, err) -> int:
    """Exit code: 0 every record mapped; 2 a bad mapping, an unreadable input, or any error record."""
    try:
        mapping = load_mapping(mapping_file or fmt)
    except PolicyError as exc:  # MappingError, or YAML syntax
        err(exc.format())
        return BAD_INPUT
    if check_only:
        err(f"{mapping.file}: mapping {mapping.id!r} ok ({len(mapping.fields)} fields, {len(mapping.events)} event rules)")
        return 0
    if source is None:
        err("slapolicy import: INPUT (the export directory or records file) is required")
        return BAD_INPUT
    failed = total = 0
    try:
        for record in import_records(mapping, source):
            total += 1
            if "error" in record:
                failed += 1
                e = record["error"]
                where = f"line {record['line']}" if "line" in record else f"record {record['index']}"
                err(f"{source}: {where} (id {record.get('source_id')}): error: {e['code']}: {e['message']}")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    except InputError as exc:
        err(f"slapolicy import: {exc}")
        return BAD_INPUT
    out.flush()
    if failed:
        err(f"{total} record(s), {total - failed} ticket(s), {failed} error record(s)")
    return BAD_INPUT if failed else 0

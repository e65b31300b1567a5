"""What every command shares: the exit code for bad input, JSON in and out, loading a policy, common options."""
from __future__ import annotations

import gc
import json
import sys

import click

BAD_INPUT = 2


def _loads(text):
    from slapolicy.decide.jsonio import loads

    return loads(text)


def _dumps(obj) -> str:
    from slapolicy.decide.jsonio import dumps

    return dumps(obj)


def _load_policy(policy: str, policies: str | None):
    """The policy (slapolicy.api.load_policy); exit 2 with the message when it is unknown or invalid. The
    cyclic garbage collector is paused while the engine is imported and the policy loaded (long-lived objects,
    no cycles to free: slapolicy.api pauses it while compiling; here the imports are paused too)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        from slapolicy.api import PolicyError, PolicyNotFound, load_policy

        try:
            return load_policy(policy, policies)
        except PolicyNotFound as exc:
            click.echo(f"slapolicy: {exc}", err=True)
        except PolicyError as exc:
            click.echo(exc.format(), err=True)
        sys.exit(BAD_INPUT)
    finally:
        if paused:  # what was allocated meanwhile goes to the oldest generation as it is (no traversal)
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _parse_as_of(as_of: str | None):
    if as_of is None:
        return None
    from slapolicy.api import parse_timestamp

    try:
        return parse_timestamp(as_of, "--as-of")
    except ValueError as exc:  # InputError invalid-parameter: not RFC 3339, no offset, outside the years
        click.echo(f"slapolicy: {exc}", err=True)
        sys.exit(BAD_INPUT)


def _check_edition(policy, edition):
    if edition is not None and edition not in policy.edition_names() + [c.version for _, c in policy.editions] + ["current"]:
        click.echo(f"slapolicy: policy '{policy.id}' has no edition '{edition}' "
                   f"(editions: {', '.join(policy.edition_names())})", err=True)
        sys.exit(BAD_INPUT)


def _json_error(origin: str, text: str, exc: json.JSONDecodeError) -> str:
    return f"{origin}:{exc.lineno}:{exc.colno}: error: json-syntax: {exc.msg}"


def _read_input(stream, limit: int = -1) -> str:
    data = stream.read(limit)
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


policy_option = click.option("--policy", "policy", required=True, help="Policy id (in policies/ or --policies DIR) or path to a policy file.")
policies_option = click.option("--policies", "policies", type=click.Path(file_okay=False), default=None, help="Directory of policies (default: the bundled ones).")
edition_option = click.option("--edition", default=None, help="Force an edition (its effective_from date, or 'current'); default: the one in force at created_at.")
as_of_option = click.option("--as-of", "as_of", default=None, help="Evaluation time, RFC 3339 with offset (default: now).")


class _InputFile(click.File):
    """A file to read, except with --engine spark (an eager option): then the path as given (s3a://...)."""

    def convert(self, value, param, ctx):
        if ctx is not None and ctx.params.get("engine") == "spark" and isinstance(value, str):
            return value
        return super().convert(value, param, ctx)



def _origin(file) -> str:
    name = getattr(file, "name", "<stdin>")
    return "<stdin>" if name in ("<stdin>", "-") else name



def _spark_module():
    """slapolicy.backends.spark; exit 2 with the install line when the extra is missing."""
    try:
        from slapolicy.backends import spark
    except ImportError as exc:
        click.echo(f"slapolicy: --engine spark needs its extra: pip install 'slapolicy[spark]' ({exc})", err=True)
        sys.exit(BAD_INPUT)
    return spark

"""Fuzzing with schemathesis against the app's own ``/openapi.json``, as callers who may pass.

Each operation gets generated requests (valid and invalid), sent by the client its rule admits:
a signed institution, a staff role, or anonymous. Every answer must be below 500 and conform to
the documented status codes, content types and schemas. Prints figures; the last line is JSON:

    {"requests": N, "server_errors": 0, "violations": 0}

    python -m bench.fuzz [--per-operation 70] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import hypothesis
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bench.world import World
from gongji.gate.auth import api_routes, rules_of
from gongji.service import commands as c
from gongji.store.db import make_engine, migrate

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def caller(world: World, allowed: tuple):
    if "institution" in allowed:
        return world.inst("H1")
    for role in ("admin", "supervisor", "clerk", "auditor"):
        if role in allowed or "staff" in allowed:
            return getattr(world, role)
    return world.anon


def seed(world: World) -> None:
    """A little data, so that generated ids sometimes hit something."""
    s = world.service
    s.register_institution(c.RegisterInstitution(code="H1", level=2, admdvs="652801", kind="hospital"))
    from gongji.service import security
    s.secure(security.new_institution_secret, "H1")
    s.register_person(c.RegisterPerson(psn_no="0", insutype="310", insu_admdvs="652801", balance="100.00"))
    s.register_person(c.RegisterPerson(psn_no="P2", insutype="390", insu_admdvs="652801"))


def fuzz(world: World, per_operation: int) -> dict:
    schema = schemathesis.openapi.from_dict(world.app.openapi())
    by_key = {(m, r.path): rules_of(r) for r in api_routes(world.app.routes) for m in r.methods}
    stats = {"requests": 0, "server_errors": 0, "violations": 0, "failures": []}
    for result in schema.get_all_operations():
        op = result.ok()
        client = caller(world, by_key.get((op.method.upper(), op.path), ()))
        if op.path == "/api/v1/auth/logout":
            continue  # would end the callers' sessions mid-run; covered by the matrix test

        def bound(client, op):  # binds this operation and its caller for the test below
            @hypothesis.given(case=op.as_strategy())
            @hypothesis.settings(max_examples=per_operation, deadline=None, database=None, derandomize=True,
                                 suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
            def run(case) -> None:
                kw = case.as_transport_kwargs(base_url="http://testserver")
                body = kw.get("json")
                if isinstance(body, dict) and isinstance(body.get("visit"), dict):
                    body["visit"]["fixmedins"] = "H1"  # reach past "not your counter"
                if isinstance(body, dict) and "fixmedins_code" in body:
                    body["fixmedins_code"] = "H1"
                headers = {k: v for k, v in kw["headers"].items() if k.lower() not in ("cookie", "content-length")}
                r = client.request(kw["method"], kw["url"].replace("http://testserver", ""), params=kw.get("params"),
                                   headers=headers, **({"json": body} if "json" in kw else
                                                       {"content": kw["data"]} if "data" in kw else {}))
                stats["requests"] += 1
                if r.status_code >= 500:
                    stats["server_errors"] += 1
                try:
                    case.validate_response(r, checks=CHECKS)
                except BaseException as e:  # schemathesis raises a group of check failures
                    if isinstance(e, (KeyboardInterrupt, SystemExit)):
                        raise
                    stats["violations"] += 1
                    if len(stats["failures"]) < 20:
                        stats["failures"].append(f"{op.method.upper()} {op.path}: {str(e).splitlines()[0][:200]}")

            return run

        bound(client, op)()
    return stats


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-operation", type=int, default=70)
    ap.add_argument("--db", default=None)
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    engine = make_engine(args.db or str(Path(tmp.name) / "fuzz.db"))
    migrate(engine)
    world = World(engine)
    seed(world)
    stats = fuzz(world, args.per_operation)
    for f in stats["failures"]:
        print(f, file=sys.stderr)
    out = {k: stats[k] for k in ("requests", "server_errors", "violations")}
    print(json.dumps(out))
    engine.dispose()
    tmp.cleanup()
    return out


if __name__ == "__main__":
    main()

"""Calculations per second of the pure engine over a fixed mix of situations.

The mix is every golden situation (all four regions, every rule), parsed once; the timed loop
runs only ``calculate`` on already-built situations, as the service will with cached terms.
A baseline in the same process (summing the item amounts of the same situations) shows the
figure relative to the cheapest possible pass over the same data. Prints figures; asserts nothing.

    python -m bench.calc [--seconds S] [--readme]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from pathlib import Path

from gongji.calc_format import InputError, parse, to_domain
from gongji.domain.errors import DomainError
from gongji.domain.settlement import calculate
from gongji.policy.golden import load_cases
from gongji.policy.loader import PolicyError, default_registry


def mix():
    registry, out = default_registry(), []
    for case in load_cases():
        try:
            s = to_domain(parse(case.situation))
            terms = registry.find(s.region).at(s.date)
            calculate(s, terms)
        except (InputError, DomainError, PolicyError):
            continue  # refusals are not settlements
        out.append((s, terms))
    return out


def rate(fn, work, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for s, t in work:
            fn(s, t)
        n += len(work)
    return n / elapsed


def baseline(s, t):
    return sum(i.amount for i in s.visit.items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--readme", action="store_true", help="write the figures into README.md")
    args = ap.parse_args()
    work = mix()
    rate(calculate, work, 0.3)  # warm up
    calc_rate = rate(calculate, work, args.seconds)
    base_rate = rate(baseline, work, args.seconds / 3)
    result = {"bench": "calc", "situations": len(work), "calcs_per_s": round(calc_rate),
              "baseline_per_s": round(base_rate), "ratio_to_baseline": round(calc_rate / base_rate, 4),
              "python": platform.python_version(), "machine": platform.machine(), "cores_used": 1}
    print(f"Python {platform.python_version()} on {platform.machine()}, one core")
    print(f"mix: {len(work)} golden situations, 4 regions")
    print(f"engine:   {calc_rate:,.0f} calculations/s")
    print(f"baseline: {base_rate:,.0f} passes/s (sum of item amounts over the same situations)")
    print(json.dumps(result))
    if args.readme:
        readme = Path(__file__).resolve().parent.parent / "README.md"
        block = (f"<!-- bench:calc:start -->\n`python -m bench.calc` on Python {platform.python_version()}"
                 f" ({platform.machine()}, one core): **{calc_rate:,.0f} calculations/s** over {len(work)}"
                 f" golden situations of all four regions (a bare pass over the same items:"
                 f" {base_rate:,.0f}/s).\n<!-- bench:calc:end -->")
        text = readme.read_text(encoding="utf-8")
        readme.write_text(re.sub(r"<!-- bench:calc:start -->.*?<!-- bench:calc:end -->", block, text,
                                 flags=re.S), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())

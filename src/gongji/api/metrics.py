"""Prometheus metrics: settlements by outcome, their latency, and mutual-aid paid (in fen)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.settlements = Counter("gongji_settlements", "Settlement requests by outcome",
                                   ["outcome"], registry=self.registry)
        self.latency = Histogram("gongji_settlement_seconds", "Time to answer a settlement",
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                                 registry=self.registry)
        self.mulaid = Counter("gongji_mulaid_paid_fen", "Mutual-aid paid by settlements, in fen",
                              registry=self.registry)

    def settled(self, outcome: str, seconds: float, mulaid_fen: int = 0) -> None:
        self.settlements.labels(outcome).inc()
        self.latency.observe(seconds)
        if mulaid_fen:
            self.mulaid.inc(mulaid_fen)

    def timed_settle(self, service, key: str, visit, actor: str = "system", by_catalog: bool = False) -> dict:
        """Settle through ``service``, counting the outcome, the time, and new mutual-aid."""
        from gongji.domain.errors import DomainError

        started = time.perf_counter()
        try:
            out, fresh = service.settle_once(key, visit, actor, by_catalog)
        except DomainError:
            self.settled("refused", time.perf_counter() - started)
            raise
        mulaid = int(out["acct_mulaid_pay"].replace(".", "")) if fresh else 0
        self.settled("settled" if fresh else "replayed", time.perf_counter() - started, mulaid)
        return out

    def text(self) -> bytes:
        return generate_latest(self.registry)

"""The transactions by ``infno``: each group module registers its handlers here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gongji.nhsa_format import Envelope, Node
from gongji.service.facade import Service
from gongji.service.nhsa.messages import Outcome, digest


@dataclass(frozen=True)
class Call:
    """One message, authenticated: what every handler is given."""

    svc: Service
    env: Envelope
    input: dict
    fixmedins: str
    actor: str
    when: datetime  # arrival, China time, on the service's settlement day

    def run(self, target: str, fn, *args, write: bool = True) -> Outcome:
        return self.svc.nhsa(self.fixmedins, self.env.msgid, self.env.infno, digest(self.input), target, fn,
                             *args, write=write, actor=self.actor)


@dataclass(frozen=True)
class Transaction:
    infno: str
    name: str  # 中文名
    model: type[Node] | None
    handle: Callable[[Call, Any], Outcome]


TRANSACTIONS: dict[str, Transaction] = {}


def transaction(infno: str, name: str, model: type[Node] | None):
    def register(fn: Callable[[Call, Any], Outcome]):
        TRANSACTIONS[infno] = Transaction(infno, name, model, fn)
        return fn
    return register

"""Faults injected on demand, so a client's handling of latency, errors and timeouts can be tested."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Endpoint = Literal["tgts", "sts", "session", "payment", "balance", "history", "total", "*"]
FaultKind = Literal["status", "latency", "hang", "hang_after_commit"]
ENDPOINTS: frozenset[str] = frozenset(get_args(Endpoint))
KINDS: frozenset[str] = frozenset(get_args(FaultKind))


@dataclass
class Fault:
    endpoint: str
    kind: str
    status: int | None = None
    delay: float = 0.0
    times: int | None = 1  # None: until cleared


class Faults:
    """Pending faults, matched first-in first-out; each is used up after `times` requests."""

    def __init__(self) -> None:
        self.latency: float = 0.0
        self._pending: list[Fault] = []

    def inject(
        self,
        endpoint: str,
        kind: str,
        *,
        status: int | None = None,
        delay: float = 0.0,
        times: int | None = 1,
    ) -> Fault:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {sorted(ENDPOINTS)}")
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(KINDS)}")
        if kind == "status" and (status is None or not 100 <= status <= 599):
            raise ValueError("a 'status' fault needs an HTTP status")
        if delay < 0 or (times is not None and times < 1):
            raise ValueError("delay must be >= 0 and times >= 1 (or None for always)")
        fault = Fault(endpoint, kind, status, delay, times)
        self._pending.append(fault)
        return fault

    def take(self, endpoint: str) -> Fault | None:
        """The fault that applies to this request, if any, counting it as used once."""
        for fault in self._pending:
            if fault.endpoint in (endpoint, "*"):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._pending.remove(fault)
                return fault
        return None

    @property
    def pending(self) -> list[Fault]:
        return list(self._pending)

    def clear(self) -> None:
        self._pending.clear()
        self.latency = 0.0

"""Failures the fake Bot API can be told to answer with: flood control (429), server errors, latency."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Fault:
    method: str
    status: int
    retry_after: int | None
    times: int
    delay: float


@dataclass
class FaultPlan:
    """Answers chosen methods with an error a given number of times before serving them normally."""

    faults: list[Fault] = field(default_factory=list)
    # Seconds added to every answer, like the network between a bot and Telegram (for the benchmark).
    latency: float = 0.0

    def inject(
        self,
        method: str,
        *,
        status: int = 500,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """`method` is a Bot API method name (any case) or `"*"`; status 429 needs `retry_after`."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self.faults.append(Fault(method.lower(), status, retry_after, times, delay))

    def flood(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self.inject(method, status=429, retry_after=retry_after, times=times)

    def clear(self) -> None:
        self.faults.clear()
        self.latency = 0.0

    def take(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.method in (method, "*") and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

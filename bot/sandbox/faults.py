"""Faults injected on demand, so a client's handling of latency, errors, resets and lost answers can be tested.

Two sources, asked in this order for every request (`Faults.take`):

- **pending faults** (`inject`), matched first-in first-out, each used up after `times` requests;
- **a random mix** (`mix`): each request (of the mix's endpoints) fails with probability `rate`, with one of
  the mix's kinds picked at random. The random generator is seeded, so a run can be repeated exactly.

Kinds, and whether the request is served (for a payment: the money moves) before the fault strikes:

| kind | served? | what the client sees |
| --- | --- | --- |
| `status` | no | an answer with `status` (401 empty, 423 `request.blocked`, others a short body) |
| `latency` | yes, late | `delay` seconds of silence, then the real answer |
| `hang` | no | no answer for an hour (or `delay` seconds, then a 503); ends at server stop |
| `reset` | no | the connection closed without any answer |
| `refuse` | no | (payment only) a refusal `{"code": code, "message": ...}` with HTTP 400 |
| `hang_after_commit` | yes | then no answer for an hour (or `delay` seconds, then a 503) |
| `lost_answer` | yes | then the connection closed without an answer (after `delay` seconds, if given) |
| `late_answer` | yes | the real answer, `delay` seconds late (a client with a shorter timeout gives up first) |
| `status_after_commit` | yes | an answer with `status` instead of the real one |

`refuse` stands for what a real QIWI may do to a repeated id: check the balance before the id and answer
"insufficient funds" for a payment whose first attempt already took the money.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, get_args

Endpoint = Literal["tgts", "sts", "session", "payment", "balance", "history", "total", "*"]
FaultKind = Literal[
    "status",
    "latency",
    "hang",
    "reset",
    "refuse",
    "hang_after_commit",
    "lost_answer",
    "late_answer",
    "status_after_commit",
]
ENDPOINTS: frozenset[str] = frozenset(get_args(Endpoint))
KINDS: frozenset[str] = frozenset(get_args(FaultKind))
# Kinds that let the request be served first: for a payment, the money has moved when the fault strikes.
AFTER_COMMIT: frozenset[str] = frozenset({"hang_after_commit", "lost_answer", "late_answer", "status_after_commit"})
WITH_STATUS: frozenset[str] = frozenset({"status", "status_after_commit"})
PAYMENT_ONLY: frozenset[str] = frozenset({"refuse"})
DEFAULT_REFUSAL = "QWPRC-220"
DEFAULT_LATE = 2.0  # seconds a `late_answer` waits when no delay is given
# The soak's mix: server errors, broken connections, rate limiting, and payments whose answer is lost.
DEFAULT_MIX: tuple[str, ...] = ("500", "reset", "423", "lost_answer")


@dataclass
class Fault:
    endpoint: str
    kind: str
    status: int | None = None
    delay: float = 0.0
    times: int | None = 1  # None: until cleared
    code: str | None = None  # `refuse`: the QWPRC code to answer with
    label: str = ""  # how it is counted in `Faults.injected` (the mix token, or the kind)

    @property
    def after_commit(self) -> bool:
        return self.kind in AFTER_COMMIT


def _checked(endpoint: str, kind: str, status: int | None, delay: float, times: int | None) -> None:
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; one of {sorted(ENDPOINTS)}")
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(KINDS)}")
    if kind in WITH_STATUS and (status is None or not 100 <= status <= 599):
        raise ValueError(f"a {kind!r} fault needs an HTTP status")
    if kind in PAYMENT_ONLY and endpoint != "payment":
        raise ValueError(f"a {kind!r} fault applies to the payment endpoint only")
    if delay < 0 or (times is not None and times < 1):
        raise ValueError("delay must be >= 0 and times >= 1 (or None for always)")


def parse_mix_kind(token: str | int, *, delay: float = 0.0) -> Fault:
    """A mix token as a fault template: `500` / `"500"` (status), `"500_after_commit"`, `"refuse"` /
    `"refuse:QWPRC-241"`, or any other kind by name (`"reset"`, `"lost_answer"`, `"late_answer"`, ...)."""
    text = str(token).strip()
    status: int | None = None
    code: str | None = None
    kind = text
    if text.isdigit():
        kind, status = "status", int(text)
    elif text.endswith("_after_commit") and text.split("_", 1)[0].isdigit():
        kind, status = "status_after_commit", int(text.split("_", 1)[0])
    elif text.startswith("refuse"):
        kind, _, given = text.partition(":")
        code = given or DEFAULT_REFUSAL
    if kind == "late_answer" and not delay:
        delay = DEFAULT_LATE
    _checked("payment" if kind in PAYMENT_ONLY else "*", kind, status, delay, None)
    return Fault("*", kind, status, delay, None, code, text)


@dataclass
class FaultMix:
    """Each request of `endpoints` fails with probability `rate`, with a kind picked uniformly from `kinds`."""

    rate: float
    kinds: tuple[Fault, ...]
    endpoints: frozenset[str]
    seed: int | None
    rng: random.Random = field(repr=False)

    def draw(self, endpoint: str) -> Fault | None:
        if "*" not in self.endpoints and endpoint not in self.endpoints:
            return None
        if self.rng.random() >= self.rate:
            return None
        fitting = [kind for kind in self.kinds if kind.kind not in PAYMENT_ONLY or endpoint == "payment"]
        if not fitting:
            return None
        template = self.rng.choice(fitting)
        return Fault(endpoint, template.kind, template.status, template.delay, None, template.code, template.label)

    def describe(self) -> dict[str, object]:
        return {
            "rate": self.rate,
            "kinds": [kind.label for kind in self.kinds],
            "endpoints": sorted(self.endpoints),
            "seed": self.seed,
        }


class Faults:
    """Pending faults, matched first-in first-out (each used up after `times` requests), then the mix."""

    def __init__(self) -> None:
        self.latency: float = 0.0
        self._pending: list[Fault] = []
        self._mix: FaultMix | None = None
        # Every fault that struck, by (endpoint, label): what a soak reports next to its outcomes.
        self.injected: Counter[tuple[str, str]] = Counter()

    def inject(
        self,
        endpoint: str,
        kind: str,
        *,
        status: int | None = None,
        delay: float = 0.0,
        times: int | None = 1,
        code: str | None = None,
    ) -> Fault:
        _checked(endpoint, kind, status, delay, times)
        if kind == "refuse":
            code = code or DEFAULT_REFUSAL
        if kind == "late_answer" and not delay:
            delay = DEFAULT_LATE
        fault = Fault(endpoint, kind, status, delay, times, code, kind)
        self._pending.append(fault)
        return fault

    def mix(
        self,
        rate: float,
        kinds: Iterable[str | int] = DEFAULT_MIX,
        *,
        endpoints: Iterable[str] = ("*",),
        seed: int | None = 0,
        delay: float = 0.0,
    ) -> FaultMix:
        """Replace the random mix: from now on each request of `endpoints` fails with probability `rate`.

        `kinds` are tokens (see `parse_mix_kind`), e.g. `mix(0.15, [500, "reset", 423, "lost_answer"])`;
        `delay` is given to the kinds that wait (`late_answer`, `hang`, `lost_answer`, ...)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        templates = tuple(parse_mix_kind(kind, delay=delay) for kind in kinds)
        if not templates:
            raise ValueError("a mix needs at least one kind")
        chosen = frozenset(endpoints)
        unknown = chosen - ENDPOINTS
        if not chosen or unknown:
            raise ValueError(f"unknown endpoints {sorted(unknown)}; any of {sorted(ENDPOINTS)}")
        self._mix = FaultMix(rate, templates, chosen, seed, random.Random(seed))
        return self._mix

    def stop_mix(self) -> None:
        self._mix = None

    @property
    def current_mix(self) -> FaultMix | None:
        return self._mix

    def take(self, endpoint: str) -> Fault | None:
        """The fault that applies to this request, if any, counting it as used once."""
        chosen: Fault | None = None
        for fault in self._pending:
            if fault.endpoint in (endpoint, "*") and (fault.kind not in PAYMENT_ONLY or endpoint == "payment"):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._pending.remove(fault)
                chosen = fault
                break
        if chosen is None and self._mix is not None:
            chosen = self._mix.draw(endpoint)
        if chosen is not None:
            self.injected[(endpoint, chosen.label or chosen.kind)] += 1
        return chosen

    @property
    def pending(self) -> list[Fault]:
        return list(self._pending)

    def clear(self) -> None:
        """No pending faults, no mix, no global latency (the `injected` counts are kept)."""
        self._pending.clear()
        self._mix = None
        self.latency = 0.0

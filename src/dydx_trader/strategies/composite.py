"""Composite: several strategies vote; agreement makes the signal."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, cast

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.signal import Action, Signal
from dydx_trader.strategies.base import (
    Explanation,
    Strategy,
    confidence,
    require_candles,
)
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.exits import NO_STOP, AtrStop


@dataclass(frozen=True, slots=True)
class Composite:
    """Evaluate ``members`` and vote.

    Each member's BUY or SELL is a vote weighted by its confidence; HOLD
    abstains. The side with more weight wins if at least ``min_votes``
    members voted for it; otherwise HOLD.

    Confidence = (winning weight - opposing weight) / number of members. All
    members agreeing at confidence 1 gives 1; one of three agreeing gives at
    most 1/3; dissent subtracts. So the confidence measures agreement as
    well as conviction.

    The composite's own ``stop`` (:class:`AtrStop`) sets its signal's stop;
    the members' stops are not used.
    """

    name: ClassVar[str] = "composite"

    members: tuple[Strategy, ...]
    min_votes: int = 2
    stop: AtrStop = NO_STOP

    def __post_init__(self) -> None:
        if not isinstance(self.members, tuple) or not self.members:
            raise InvalidInput(f"strategy {self.name}: members must be a non-empty tuple")
        for member in self.members:
            if not isinstance(member, Strategy) or isinstance(member, Composite):
                raise InvalidInput(
                    f"strategy {self.name}: members must be plain strategies, got {member!r}"
                )
        if (
            isinstance(self.min_votes, bool)
            or not isinstance(self.min_votes, int)
            or not 1 <= self.min_votes <= len(self.members)
        ):
            raise InvalidInput(
                f"strategy {self.name}: min_votes is {self.min_votes!r}, it must be an integer "
                f"in [1, {len(self.members)}] (the number of members)"
            )

    @property
    def min_candles(self) -> int:
        return max(self.stop.min_candles, *(member.min_candles for member in self.members))

    @property
    def lookback(self) -> int:
        return max(member.lookback for member in self.members)

    @property
    def emits_stops(self) -> bool:
        # The composite's own stop is the one its signals carry.
        return self.stop.emits_stops

    def vote(self, market: str, candles: Candles, now: datetime) -> tuple[Signal, ...]:
        """Each member's own signal, in member order."""
        require_candles(self.name, self.min_candles, candles)
        return tuple(member.evaluate(market, candles, now) for member in self.members)

    def verdict(self, candles: Candles) -> tuple[Action, Decimal]:
        require_candles(self.name, self.min_candles, candles)
        return self._tally(member.verdict(candles) for member in self.members)

    def evaluate(self, market: str, candles: Candles, now: datetime) -> Signal:
        return self._signal(market, candles, now, self.verdict(candles))

    def combine(
        self, market: str, candles: Candles, now: datetime, votes: tuple[Signal, ...]
    ) -> Signal:
        """The composite signal from the members' ``votes`` (lets a caller that
        already evaluated the members reuse their signals)."""
        return self._signal(
            market, candles, now, self._tally((v.action, v.confidence) for v in votes)
        )

    def explain(self, candles: Candles) -> Explanation:
        require_candles(self.name, self.min_candles, candles)
        votes = [member.verdict(candles) for member in self.members]
        count = {side: sum(1 for action, _ in votes if action is side) for side in _SIDES}
        weight = {side: sum((c for a, c in votes if a is side), Decimal(0)) for side in _SIDES}
        side = Action.SELL if weight[Action.SELL] > weight[Action.BUY] else Action.BUY
        signed = {Action.BUY: 1.0, Action.SELL: -1.0}
        return Explanation(
            # Each member's vote: its confidence, signed (+ BUY, - SELL, 0 HOLD).
            values=tuple(
                (member.name, signed.get(action, 0.0) * float(conf))
                for member, (action, conf) in zip(self.members, votes, strict=True)
            ),
            trigger=side,
            condition=f"{self.min_votes} of {len(self.members)} members vote {side.value}, "
            "outweighing the other side",
            distance=float(max(0, self.min_votes - count[side])),
            unit="votes",
        )

    def _tally(self, votes: Iterable[tuple[Action, Decimal]]) -> tuple[Action, Decimal]:
        weight = dict.fromkeys(_SIDES, Decimal(0))
        count = dict.fromkeys(_SIDES, 0)
        for action, conf in votes:
            if action in weight:
                weight[action] += conf
                count[action] += 1
        buy, sell = weight[Action.BUY], weight[Action.SELL]
        if buy > sell and count[Action.BUY] >= self.min_votes:
            action, net = Action.BUY, buy - sell
        elif sell > buy and count[Action.SELL] >= self.min_votes:
            action, net = Action.SELL, sell - buy
        else:
            action, net = Action.HOLD, Decimal(0)
        return action, confidence(float(net / len(self.members)))

    def _signal(
        self, market: str, candles: Candles, now: datetime, verdict: tuple[Action, Decimal]
    ) -> Signal:
        members = cast(tuple[Hashable, ...], self.members)
        return self.stop.signal(
            self.name, (self.min_votes, self.stop, *members), market, candles, now, verdict
        )


_SIDES = (Action.BUY, Action.SELL)

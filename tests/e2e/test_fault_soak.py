"""The fault soak's fixed part (``make soak`` plays hundreds of seeded schedules).

The reliability review's F1-F5 as schedules (:mod:`soak.scenarios`), each
checked after every step and once settled against the devnet's own state by
:mod:`soak.invariants`; each of them broke an invariant on a178e09. Then a few
seeded random schedules, one of them with the trader as a process of its own
(kill -9, SIGTERM). A violation's message names the step and the invariant.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from soak.draw import generate
from soak.play import Outcome
from soak.scenarios import (
    f1_back_to_back,
    f1_close_lost,
    f2_second_trader,
    f3_journal_locked_after_send,
    f4_indexer_fails_while_settling,
    f5_sigterm_in_flight,
)
from soak.schedule import Schedule
from soak.worker import Worker, running_worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Seeds of the fixed random schedules: four in this process, one as a process.
INPROC_SEEDS = (2, 5, 11, 29)
PROCESS_SEED = 31


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    with running_worker(tmp_path_factory.mktemp("soak")) as running:
        yield running


async def _played(worker: Worker, schedule: Schedule) -> Outcome:
    outcome = await worker.play(schedule)
    assert not outcome.violations, "\n".join(
        [f"{schedule.label}:", *(f"after step {i}: {v}" for i, v in outcome.violations)]
    )
    return outcome


async def test_soak_when_close_is_lost_then_the_next_buy_stays_within_the_caps(
    worker: Worker,
) -> None:
    outcome = await _played(worker, f1_close_lost())

    assert outcome.final is not None
    assert outcome.final.notionals_qq.get("BTC-USD", 0) > 0  # the CLOSE never landed
    assert "IN_FLIGHT_UNKNOWN" in outcome.notes[1]


async def test_soak_when_close_and_buy_back_to_back_and_the_close_finds_no_bid_then_within_caps(
    worker: Worker,
) -> None:
    outcome = await _played(worker, f1_back_to_back())

    assert outcome.final is not None
    assert outcome.final.notionals_qq.get("BTC-USD", 0) > 0  # the CLOSE did not fill
    assert outcome.final.notionals_qq.get("ETH-USD", 0) > 0  # and the BUY went out


async def test_soak_when_a_second_trader_starts_on_the_subaccount_then_it_refuses(
    worker: Worker,
) -> None:
    outcome = await _played(worker, f2_second_trader())

    assert outcome.orders == 1
    code, output = outcome.extra_exits[0]
    assert code == 1, output  # refused, as every refusal
    refusal = output.strip().splitlines()[-1]
    assert "InstanceLocked" in refusal and "pid" in refusal and "journal.sqlite3" in refusal


async def test_soak_when_the_journal_is_locked_after_the_send_then_settled_and_halt_persisted(
    worker: Worker,
) -> None:
    outcome = await _played(worker, f3_journal_locked_after_send())

    assert outcome.orders == 1 and outcome.halts >= 1  # the lock did bite


async def test_soak_when_the_indexer_fails_while_settling_then_the_order_still_settles(
    worker: Worker,
) -> None:
    outcome = await _played(worker, f4_indexer_fails_while_settling("inproc"))

    assert outcome.orders == 1


async def test_soak_when_sigterm_with_an_order_in_flight_then_it_exits_settled(
    worker: Worker,
) -> None:
    outcome = await _played(worker, f5_sigterm_in_flight())

    assert outcome.orders == 1


@pytest.mark.parametrize("seed", INPROC_SEEDS)
async def test_soak_when_a_seeded_schedule_is_played_then_no_invariant_breaks(
    worker: Worker, seed: int
) -> None:
    await _played(worker, generate(seed, "inproc"))


async def test_soak_when_a_seeded_schedule_runs_the_trader_as_a_process_then_no_invariant_breaks(
    worker: Worker,
) -> None:
    outcome = await _played(worker, generate(PROCESS_SEED, "process"))

    assert outcome.crashes >= 1  # it was killed -9 and restarted

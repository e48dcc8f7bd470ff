"""Processes spread evenly over labellers, whatever their ids look like (issue 18: blocks of 4 on one labeller)."""

from __future__ import annotations

import pytest

from hil.stream import SHARDS, shard_of


def labeller_of(process: str, count: int) -> int:
    return shard_of(process) % count  # labeller i of n takes the shards ≡ i (mod n)


@pytest.mark.parametrize("count", [2, 3, 4])
@pytest.mark.parametrize("ids", ["sim-20261206T010203-{k}", "p{k}", "camera-{k:04d}"])
def test_a_hundred_consecutive_processes_spread_evenly(count, ids):
    loads = [0] * count
    for k in range(100):
        loads[labeller_of(ids.format(k=k), count)] += 1
    assert max(loads) - min(loads) <= 1, loads  # round robin over the counter: as even as 100 allows


def test_consecutive_processes_do_not_come_in_blocks():
    # the defect: with 2 labellers, consecutive ids landed on one labeller 4 at a time
    owners = [labeller_of(f"sim-20261206T010203-{k}", 2) for k in range(100)]
    longest = run = 1
    for a, b in zip(owners, owners[1:]):
        run = run + 1 if a == b else 1
        longest = max(longest, run)
    assert longest == 1  # they alternate


def test_three_processes_over_two_labellers_keep_both_busy():
    assert {labeller_of(f"sim-20261206T010203-{k}", 2) for k in range(3)} == {0, 1}


def test_ids_without_a_counter_spread_by_hash():
    names = [f"{a}{b}" for a in "abcdefghij" for b in "klmnopqrst"]  # 100 ids, no trailing digits
    loads = [0, 0]
    for name in names:
        loads[labeller_of(name, 2)] += 1
    assert min(loads) >= 35, loads


def test_every_labeller_count_up_to_twelve_gets_an_equal_number_of_shards():
    for count in range(1, 13):
        if SHARDS % count == 0:
            assert len({sum(1 for s in range(SHARDS) if s % count == i) for i in range(count)}) == 1

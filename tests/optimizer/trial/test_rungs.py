"""The rung rule on hand-made inputs: rungs, non-dominated sorting, crowding, and who continues."""

import math

import pytest

from optimizer.errors import ArchoptError
from optimizer.trial.rungs import continues, crowding, fronts, make_rungs, ranking


def test_rungs_grow_by_eta_up_to_the_training_budget() -> None:
    assert make_rungs(min_steps=100, max_steps=2700, eta=3) == (100, 300, 900, 2700)
    assert make_rungs(min_steps=100, max_steps=2000, eta=3) == (100, 300, 900, 2000)  # the top rung is the budget
    assert make_rungs(min_steps=300, max_steps=300, eta=3) == (300,)  # single fidelity


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_steps": 400, "max_steps": 300, "eta": 3}, "`--min-steps <= --train-steps` must hold"),
        ({"min_steps": 0, "max_steps": 300, "eta": 3}, "`--min-steps` must be a positive integer, but got 0"),
        ({"min_steps": 100, "max_steps": 300, "eta": 1}, "`--eta` must be an integer of at least 2, but got 1"),
    ],
)
def test_bad_rung_settings_are_one_line_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ArchoptError, match=message) as error:
        make_rungs(**kwargs)
    assert "\n" not in str(error.value)


def test_fronts_and_crowding() -> None:
    points = {0: (0.9, 10.0), 1: (0.8, 5.0), 2: (0.85, 7.0), 3: (0.7, 12.0), 4: (0.8, 11.0)}
    assert fronts(points) == [[0, 1, 2], [4], [3]]
    distance = crowding(points, [0, 1, 2])
    assert distance[0] == distance[1] == math.inf
    assert distance[2] == pytest.approx((0.9 - 0.8) / 0.1 + (10 - 5) / 5)
    assert ranking(points) == [0, 1, 2, 4, 3]


def test_a_dominated_candidate_stops_and_a_non_dominated_one_continues() -> None:
    seen = {0: (0.80, 10.0), 1: (0.85, 20.0), 2: (0.75, 5.0), 3: (0.70, 15.0), 4: (0.60, 30.0)}
    # 6 trials at the rung, eta 3: the top 2 continue. Trial 5 dominates 0 and 3.
    assert continues(seen | {5: (0.9, 4.0)}, trial=5, eta=3)
    assert not continues(seen | {5: (0.5, 40.0)}, trial=5, eta=3)  # dominated by every other trial
    assert not continues(seen | {5: (0.9, 4.0)}, trial=0, eta=3)  # now dominated, and crowded in the second front


def test_ties_within_a_front_go_to_the_less_crowded() -> None:
    # One front of five along a line; top floor(5 / 2) = 2 continue: the two extremes (infinite
    # crowding distance).
    line = {k: (0.5 + 0.1 * k, 1.0 + k) for k in range(5)}
    assert [k for k in line if continues(line, trial=k, eta=2)] == [0, 4]
    # The middle member of a front continues ahead of one squeezed between close neighbours.
    points = {0: (0.5, 1.0), 1: (0.52, 1.2), 2: (0.7, 3.0), 3: (0.9, 9.0), 4: (0.3, 50.0), 5: (0.2, 60.0)}
    assert ranking(points)[:3] == [0, 3, 2]
    assert continues(points, trial=2, eta=2) and not continues(points, trial=1, eta=2)


def test_fewer_trials_than_eta_continue_while_none_dominates_them() -> None:
    assert continues({7: (0.3, 50.0)}, trial=7, eta=3)  # the first trial of a rung always continues
    assert continues({7: (0.3, 50.0), 8: (0.2, 10.0)}, trial=8, eta=3)  # faster: not dominated
    assert not continues({7: (0.3, 50.0), 8: (0.2, 60.0)}, trial=8, eta=3)
    assert continues({7: (0.3, 50.0), 8: (0.3, 50.0)}, trial=8, eta=3)  # an equal point does not dominate


def test_unequal_numbers_of_trials_per_rung() -> None:
    # Rung 100 saw 9 trials, rung 300 only the 3 that went on; eta 3: 3 of 9, then 1 of 3 continue.
    rung_100 = {k: (0.5 + 0.01 * k, 10.0) for k in range(9)}  # same step time: accuracy alone orders them
    going_on = [k for k in rung_100 if continues(rung_100, trial=k, eta=3)]
    assert going_on == [6, 7, 8]  # one front per accuracy level: the 3 most accurate
    rung_300 = {6: (0.80, 10.0), 7: (0.82, 10.0), 8: (0.81, 10.0)}
    assert [k for k in rung_300 if continues(rung_300, trial=k, eta=3)] == [7]


def test_the_trial_must_be_at_the_rung() -> None:
    with pytest.raises(ValueError, match="`trial` must be one of the rung's trials"):
        continues({1: (0.5, 1.0)}, trial=2, eta=3)

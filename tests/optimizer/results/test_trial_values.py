"""What Optuna reads equals the CSVs: re-timed step times become the trials' stored values (issue 12)."""

import math

import optuna
import pandas as pd
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from optimizer.optuna_private import overwrite_values
from optimizer.results.front import accuracy_floor
from optimizer.results.report import write_outputs
from optimizer.results.retime import first_step_time, retime_study, retimed_values
from optimizer.study.storage import make_storage
from optimizer.study.study import open_study


def test_the_private_rdb_api_overwrite_values_relies_on_is_still_there() -> None:
    """Pins the Optuna internals ``storage.overwrite_values`` writes through: a changed Optuna fails here first."""
    from optuna.storages._cached_storage import _CachedStorage, _StudyInfo
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    assert callable(_create_scoped_session)

    assert {"trial_id", "objective", "value", "value_type"} <= set(models.TrialValueModel.__table__.columns.keys())
    assert {"trial_id", "key", "value_json"} <= set(models.TrialUserAttributeModel.__table__.columns.keys())
    value = models.TrialValueModel
    assert value.value_to_stored_repr(math.inf) == (None, value.TrialValueType.INF_POS)
    assert isinstance(_StudyInfo().trials, dict)
    study = optuna.create_study(storage="sqlite:///:memory:", directions=["maximize", "minimize"])
    assert isinstance(study._storage, _CachedStorage) and isinstance(study._storage._studies, dict)


FILTERS = {"filters": IntDistribution(1, 16)}


def file_study(tmp_path, values):
    """A study in a SQLite file (as a search writes it) whose trials' first timings are ``values``' step times."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = open_study(storage=make_storage(url), name="s", sampler=optuna.samplers.RandomSampler(seed=0))
    for i, v in enumerate(values):
        params = {"filters": 2 ** (i % 4 + 1)}
        attrs = {"step_time_ms": v[1]}  # as the objective records it
        study.add_trial(create_trial(values=list(v), params=params, distributions=FILTERS, user_attrs=attrs))
    return url, study


def test_overwritten_values_are_what_every_reader_of_the_study_sees(tmp_path) -> None:
    url, study = file_study(tmp_path, [(0.8, 10.0), (0.9, 50.0), (0.7, 5.0)])
    assert {t.number for t in study.best_trials} == {0, 1, 2}
    overwrite_values(study, {2: [0.7, 60.0]}, user_attrs={2: {"step_time_first_ms": 5.0}})
    fresh = optuna.load_study(study_name="s", storage=url)  # another process's view: no cache
    for seen in (study, fresh):  # the writer's cached trials are updated too
        assert seen.trials[2].values == [0.7, 60.0] and seen.trials[2].user_attrs["step_time_first_ms"] == 5.0
        assert {t.number for t in seen.best_trials} == {0, 1}
    assert list(fresh.trials_dataframe()["values_step_time_ms"]) == [10.0, 50.0, 60.0]
    overwrite_values(study, {0: [0.8, math.inf]})
    assert optuna.load_study(study_name="s", storage=url).trials[0].values == [0.8, math.inf]
    with pytest.raises(ValueError, match="objectives"):
        overwrite_values(study, {1: [0.9]})


def test_best_trials_equal_the_pareto_csv_after_a_retime(tiny_objective, tmp_path) -> None:
    # First timings a real re-timing will not reproduce: every trial looks impossibly fast or slow.
    values = [(0.5, 1e-6), (0.6, 1e6), (0.7, 2e6), (0.4, 3e6), (0.3, 4e6)]
    url, study = file_study(tmp_path, values)
    study.add_trial(create_trial(state=TrialState.FAIL))
    retime_study(study, tiny_objective, rounds=2, controls=0)  # impossible own timings: no sitting to measure
    write_outputs(study, tmp_path)
    pareto, trials = pd.read_csv(tmp_path / "pareto.csv"), pd.read_csv(tmp_path / "trials.csv").set_index("trial")
    fresh = optuna.load_study(study_name="s", storage=url)
    for seen in (study, fresh):
        best = sorted((t.number, t.values[0], t.values[1]) for t in seen.best_trials)
        front = trials.loc[trials["is_pareto"]].reset_index()  # pareto.csv: those over the accuracy floor
        assert best == sorted(front[["trial", "accuracy", "step_time_ms"]].itertuples(index=False, name=None))
        floor = accuracy_floor(front, num_classes=10)
        assert sorted(pareto["trial"]) == [n for n, accuracy, _ in best if accuracy >= floor]
        for t in seen.get_trials(states=(TrialState.COMPLETE,)):
            assert t.values[1] == trials.loc[t.number, "step_time_ms"] == t.user_attrs["step_time_ms"]
            assert first_step_time(t) == trials.loc[t.number, "step_time_first_ms"] == values[t.number][1]
    assert all(fresh.trials[n].values[1] == pytest.approx(ms) and ms < 1e3 for n, ms in retimed_values(study).items())
    assert list(trials["step_time_first_ms"].dropna()) == [v[1] for v in values]


def test_a_new_retiming_starts_again_from_the_first_timings(tiny_objective, tmp_path) -> None:
    url, study = file_study(tmp_path, [(0.5, 1e-6), (0.6, 1e6)])
    retime_study(study, tiny_objective, rounds=1, controls=0)  # impossible own timings: no sitting to measure
    assert set(retimed_values(study)) == {0, 1}
    # Dominated by a new trial, trial 1 is not re-timed: its value goes back to its first timing.
    study.add_trial(create_trial(values=[0.9, 1e-7], params={"filters": 2}, distributions=FILTERS))
    retime_study(study, tiny_objective, rounds=1, controls=0)
    fresh = optuna.load_study(study_name="s", storage=url)
    # Trial 2 (re-timed) dominates trial 1; trial 0's first timing beats it, so 0 is promoted and
    # re-timed again.
    assert set(retimed_values(study)) == {0, 2}
    one = fresh.trials[1]
    assert one.values[1] == 1e6 == first_step_time(one) == one.user_attrs["step_time_ms"]
    assert fresh.trials[0].values[1] < 1e3 and first_step_time(fresh.trials[0]) == 1e-6
    assert {t.number for t in fresh.best_trials} == set(write_outputs(study, tmp_path).query("is_pareto")["trial"])


def test_the_export_record_names_the_step_time_the_csvs_show(tiny_objective, tmp_path) -> None:
    from optimizer.results.export import step_time_record

    _, study = file_study(tmp_path, [(0.5, 1e-6), (0.4, 1e6)])
    retime_study(study, tiny_objective, rounds=1, controls=0)
    rows = write_outputs(study, tmp_path).set_index("trial")
    retimed, first = (step_time_record(study, study.trials[n]) for n in (0, 1))
    assert retimed["step_time_source"] == "re-timed" and retimed["step_time_first_ms"] == 1e-6
    assert retimed["step_time_ms"] == rows.loc[0, "step_time_ms"] < 1e3
    assert first == {"step_time_ms": 1e6, "step_time_source": "first", "step_time_first_ms": 1e6}
    assert rows.loc[1, "step_time_ms"] == 1e6

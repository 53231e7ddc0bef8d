"""KerasTuner's tuners run archopt trials and leave the same study, CSV and plot as an Optuna run."""

import textwrap

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from optimizer import cli
from optimizer.defaults import TRIALS_PER_PROCESS
from optimizer.errors import ArchoptError, CandidateFailed
from optimizer.search import kt_engine
from optimizer.space.hparams import OptunaHyperParameters
from optimizer.trial.objective import Objective
from tests.helpers import one_line_error, search_argv, search_plan

SPACE = textwrap.dedent('''
    import keras
    import keras_tuner as kt

    class Conditional(kt.HyperModel):
        """Every hyperparameter kind; `dense_units` exists only when `dense` is True."""

        def __init__(self, input_shape=(28, 28, 1), num_classes=10):
            super().__init__()
            self.input_shape, self.num_classes = input_shape, num_classes

        def build(self, hp):
            inputs = keras.Input(self.input_shape)
            x = keras.layers.Conv2D(hp.Int("filters", 2, 16, sampling="log"), 3, strides=hp.Fixed("stride", 4))(inputs)
            x = keras.layers.GlobalAveragePooling2D()(x)
            dense = hp.Boolean("dense")
            with hp.conditional_scope("dense", [True]):
                units = hp.Int("dense_units", 8, 32, step=8)
            if dense:
                x = keras.layers.Dense(units, activation="relu")(x)
            model = keras.Model(inputs, keras.layers.Dense(self.num_classes, activation="softmax")(x))
            learning_rate = hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")  # not architecture
            model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
            return model
''')
KNOBS = ["filters", "stride", "dense", "dense_units", "learning_rate"]


class Scripted(Objective):
    """The real build through OptunaHyperParameters, scored without training: fails when `dense` is False."""

    def __init__(self, build) -> None:
        super().__init__(build=build, split=None, tags={"host": "test"})

    def evaluate(self, trial) -> tuple[float, float]:
        self.build(OptunaHyperParameters(trial))
        if not trial.params["dense"]:
            raise CandidateFailed("no dense layer")
        return trial.params["dense_units"] / 100, float(trial.params["filters"])


@pytest.fixture
def space(tmp_path):
    path = tmp_path / "conditional_space.py"
    path.write_text(SPACE)
    return path


def tuner(space, tmp_path, *, name: str = "random", n_trials: int = 4) -> kt_engine.ArchoptTuner:
    from optimizer.space.load import load_space

    build = load_space(f"{space}:Conditional", input_shape=(28, 28, 1), num_classes=10)
    study = optuna.create_study(directions=["maximize", "minimize"])
    oracle = kt_engine.make_oracle(name, seed=3, max_failures=50)
    return kt_engine.ArchoptTuner(oracle=oracle, objective=Scripted(build), study=study, kt_lambda=0.01,
                                  directory=tmp_path / "run", n_trials=n_trials)


def test_each_kerastuner_trial_is_mirrored_into_the_study(space, tmp_path):
    engine = tuner(space, tmp_path)
    engine.search_space()
    trials = engine.study.get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 4  # stops at n_trials complete trials, failed ones aside
    assert all(t.values == [t.params["dense_units"] / 100, t.params["filters"]] for t in complete)
    assert all(set(t.params) == set(KNOBS) and t.user_attrs["host"] == "test" for t in complete)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert all("dense_units" not in t.params and t.user_attrs["fail_reason"] == "no dense layer" for t in failed)
    assert (tmp_path / "run" / kt_engine.PROJECT / "oracle.json").exists()


def test_kerastuner_is_told_the_scalarized_score(space, tmp_path):
    engine = tuner(space, tmp_path, n_trials=2)
    engine.search_space()
    scores = {t.trial_id: t.score for t in engine.oracle.trials.values() if t.status == "COMPLETED"}
    mirrored = {t.user_attrs["kt_trial_id"]: t for t in engine.study.trials if t.state == TrialState.COMPLETE}
    assert scores and all(scores[i] == pytest.approx(t.values[0] - 0.01 * t.values[1]) for i, t in mirrored.items())


def test_a_knob_kerastuner_has_not_met_gets_its_default():
    trial = kt_engine.KerasTunerValues({"units": 64})
    assert trial.suggest_int("units", 8, 128) == 64
    assert trial.suggest_categorical("act", ["relu", "gelu"]) == "relu"
    assert trial.suggest_float("lr", 1e-4, 1e-1, log=True) == 1e-4
    assert set(trial.distributions) == {"units", "act", "lr"}


def test_a_value_kerastuner_rounded_past_its_bound_is_clipped():
    trial = kt_engine.KerasTunerValues({"width": 65})  # KerasTuner's Int(4, 64, sampling="log") can give 65
    assert trial.suggest_int("width", 4, 64, log=True) == 64


def test_an_unknown_tuner_is_named():
    with pytest.raises(ArchoptError, match="'grid'.*random, bayesian, hyperband"):
        kt_engine.make_oracle("grid", seed=0, max_failures=3)


@pytest.mark.parametrize("name", kt_engine.TUNERS)
def test_every_tuner_maximizes_the_score(name):
    oracle = kt_engine.make_oracle(name, seed=0, max_failures=3)
    assert oracle.objective.name == "score" and oracle.objective.direction == "max"


def search(space, out, fashion_dir, *extra: str) -> pd.DataFrame:
    code = cli.main([
        "search", "--space", f"{space}:Conditional", "--data-dir", str(fashion_dir), "--out", str(out),
        "--trials", "4", "--train-steps", "3", "--train-size", "256", "--val-size", "128",
        "--batch-size", "32", "--timing-s", "0.05", "--no-progress", "--finalists", "0", *extra,
    ])
    assert code == 0
    assert (out / "pareto.csv").exists() and (out / "pareto.png").exists()
    return pd.read_csv(out / "trials.csv")


@pytest.mark.slow
@pytest.mark.parametrize("engine", [["--engine", "optuna"], ["--engine", "keras-tuner", "--tuner", "bayesian"]])
def test_both_engines_search_a_conditional_space_end_to_end(space, tmp_path, fashion_dir, engine):
    frame = search(space, tmp_path / "run", fashion_dir, *engine)
    complete = frame[frame["state"] == "COMPLETE"]
    assert len(complete) == 4 and complete["accuracy"].between(0, 1).all()
    assert set(KNOBS) <= set(frame.columns)
    assert complete["dense_units"].isna().eq(~complete["dense"].astype(bool)).all()  # empty where dense is False
    assert (complete["stride"] == 4).all() and complete["learning_rate"].between(1e-3, 1e-1).all()


@pytest.mark.slow
def test_hyperband_marks_partial_budget_trials_pruned(space, tmp_path, fashion_dir):
    frame = search(space, tmp_path / "run", fashion_dir, "--engine", "keras-tuner", "--tuner", "hyperband")
    assert {"COMPLETE", "PRUNED"} <= set(frame["state"])
    assert frame.loc[frame["state"] == "PRUNED", "train_fraction"].lt(1).all()


def test_keras_tuner_runs_in_one_process_and_refuses_workers(capsys, tmp_path):
    assert search_plan(tmp_path, "--engine", "keras-tuner").trials_per_process == 0
    assert search_plan(tmp_path).trials_per_process == TRIALS_PER_PROCESS
    line = one_line_error(capsys, ["search", "--engine", "keras-tuner", "--tuner", "random", "--trials-per-process",
                                   "2", "--out", str(tmp_path / "r")])
    assert "`--trials-per-process 2` needs `--engine optuna`" in line
    assert not (tmp_path / "r").exists()


BASELINE_PY = """
import keras


def small():
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, strides=4), keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
"""


@pytest.mark.slow
def test_keras_tuner_measures_baselines_retimes_and_trains_finalists_as_optuna_does(space, tmp_path,
                                                                                    small_fashion_dir, capsys):
    (tmp_path / "net.py").write_text(BASELINE_PY)
    out = tmp_path / "run"
    argv = search_argv(out, small_fashion_dir, "--space", f"{space}:Conditional", "--engine", "keras-tuner",
                       "--tuner", "random", "--trials", "2", "--no-progress",
                       "--baseline", f"{tmp_path / 'net.py'}:small", "--finalists", "1", "--finalist-epochs", "1")
    assert cli.main(argv) == 0
    written = pd.read_csv(out / "baselines.csv")
    assert list(written["name"]) == ["net.py:small"] and written.loc[0, "state"] == "COMPLETE"
    assert "baseline net.py:small" in capsys.readouterr().out
    study = optuna.load_study(study_name="run", storage=f"sqlite:///{out.resolve() / 'study.db'}")
    complete = {t.number for t in study.trials if t.state == TrialState.COMPLETE}
    assert study.user_attrs["retimed"] and {int(n) for n in study.user_attrs["retimed"]} <= complete
    trials = pd.read_csv(out / "trials.csv")
    assert trials["final_accuracy"].notna().sum() == 1 and trials["final_accuracy"].dropna().between(0, 1).all()

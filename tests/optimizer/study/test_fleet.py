"""Fleets that start together: every worker gets in, and a worker with other measuring settings is refused.

Real PostgreSQL (tests/pg.py) and real SQLite files; the workers are separate processes started at one instant.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import sqlalchemy
from optuna.trial import TrialState

from optimizer import cli
from optimizer.defaults import TRAIN_STEPS
from optimizer.errors import ArchoptError
from optimizer.optuna_private import insert_study_user_attrs
from optimizer.study import concurrent_retry, fleet, run_config
from optimizer.study.run_config import RunConfig
from optimizer.study.storage import make_storage, normalize_url
from tests.pg import TINY_BUDGET, TINY_SPACE, postgres_server, trials, worker

N_WORKERS = 8
# Waits for the shared start time, joins the study, prints "ok" or the refusal; no TensorFlow: fast.
JOINER = """
import sys, time
from optimizer.study import fleet
from optimizer.errors import ArchoptError
from optimizer.study.run_config import RunConfig
url, seed, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
config = RunConfig(dataset="fashion_mnist", space="default", storage=url, study="race", seed=seed)
while time.time() < start:
    time.sleep(0.001)
try:
    fleet.join_study(config)
    print("ok")
except ArchoptError as error:
    print(error)
"""


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as url:
        yield url


def fresh_database(server_url: str, name: str) -> str:
    """A new, empty database on the test server: no Optuna tables yet, as a fleet's first start finds it."""
    engine = sqlalchemy.create_engine(normalize_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def config(url: str, **changes) -> RunConfig:
    return RunConfig(**{"dataset": "fashion_mnist", "space": "default", "storage": url, "study": "race", **changes})


def snapshot(url: str, name: str = "race") -> tuple:
    """Everything a refused worker must leave as it was: trials, user attributes, metric names, directions."""
    study = optuna.load_study(study_name=name, storage=normalize_url(url))
    trials_now = [(t.number, t.state, t.params, t.user_attrs) for t in study.trials]
    return trials_now, study.user_attrs, study.metric_names, study.directions


def test_a_sqlite_file_outside_the_run_folder_is_shared(tmp_path):
    own = config(f"sqlite:///{(tmp_path / 'run').resolve() / 'study.db'}")
    assert not fleet.shares_study(own, run_dir=tmp_path / "run")  # one worker: reproducible from its seed
    assert fleet.shares_study(config(f"sqlite:///{tmp_path / 'shared.db'}"), run_dir=tmp_path / "run")
    assert fleet.shares_study(config("postgresql://u@h/db"), run_dir=tmp_path / "run")


def test_lost_race_is_told_from_a_fault():
    locked = sqlalchemy.exc.OperationalError("PRAGMA", {}, Exception("database is locked"))
    wrapped = optuna.exceptions.StorageInternalError("during the commit")
    wrapped.__cause__ = locked
    duplicate = sqlalchemy.exc.IntegrityError("CREATE TABLE", {}, Exception("pg_type_typname_nsp_index"))
    assert concurrent_retry.lost_race(duplicate)
    assert concurrent_retry.lost_race(wrapped)
    refused = sqlalchemy.exc.OperationalError("connect", {}, Exception("connection refused"))
    assert not concurrent_retry.lost_race(refused) and not concurrent_retry.lost_race(ValueError("directions differ"))


def test_retry_runs_a_lost_race_again_within_a_bounded_time():
    attempts = []

    def step() -> str:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
        return "in"

    assert concurrent_retry.retry_concurrent(step) == "in" and len(attempts) == 3

    def always() -> None:
        raise sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))

    started = time.monotonic()
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        concurrent_retry.retry_concurrent(always, budget_s=0.5)
    assert time.monotonic() - started < 2.5


def test_add_study_user_attrs_never_overwrites(tmp_path):
    """Pins the private Optuna API add_study_user_attrs uses: the first writer's value stays."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=make_storage(url), study_name="race", directions=["maximize", "minimize"])
    insert_study_user_attrs(study, {"seed": 1, "dataset": "mnist"})
    insert_study_user_attrs(study, {"seed": 2, "space": "default"})  # seed taken: the whole insert is dropped
    assert study.user_attrs == {"seed": 1, "dataset": "mnist"}


def test_study_records_settings_and_refuses_another_seed_or_budget(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    fleet.join_study(config(url, seed=1))
    recorded = optuna.load_study(study_name="race", storage=url).user_attrs
    assert recorded == run_config.measured(config(url, seed=1)) and recorded["seed"] == 1
    before = snapshot(url)
    with pytest.raises(ArchoptError) as seed:
        fleet.join_study(config(url, seed=2))
    assert str(seed.value) == ("study 'race' measures trials with --seed 1, but this worker was started with --seed 2; "
                               "start it with the study's settings, or give it another --study.")
    from optimizer.trial.budget import Budget

    refusal = f"with --train-steps {TRAIN_STEPS}, but this worker was started with --train-steps 40"
    with pytest.raises(ArchoptError, match=refusal):
        fleet.join_study(config(url, seed=1, budget=Budget(train_steps=40)))
    assert snapshot(url) == before
    fleet.join_study(config(url, seed=1, data_dir="/elsewhere"))  # where a machine keeps its data is its own business


def test_study_of_an_older_archopt_adopts_the_first_workers_settings(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    old = optuna.create_study(storage=url, study_name="race", directions=["maximize", "minimize"])
    old.add_trial(optuna.trial.create_trial(values=[0.5, 3.0]))
    fleet.join_study(config(url, seed=3))
    adopted = "study 'race' had no recorded dataset, space, engine, val_size, train_size, seed, budget"
    assert adopted in capsys.readouterr().err
    assert optuna.load_study(study_name="race", storage=url).user_attrs["seed"] == 3
    with pytest.raises(ArchoptError, match="--seed 3, but this worker was started with --seed 0"):
        fleet.join_study(config(url, seed=0))


@pytest.mark.parametrize("running_ends, starts", [(TrialState.COMPLETE, False), (TrialState.FAIL, True)])
def test_gate_waits_while_running_trials_would_reach_the_target(tmp_path, running_ends, starts):
    """Two complete and one running (another worker's) of a target of three: wait, then stop or take its place."""
    import threading

    storage = make_storage(f"sqlite:///{tmp_path / 'g.db'}")
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    for _ in range(2):
        study.add_trial(optuna.trial.create_trial(values=[0.5, 3.0]))
    running = study.ask()

    class Watched(optuna.Study):
        """The same study on the same storage; ``waited`` is set on the gate's second read of its trials."""

        reads, waited = 0, threading.Event()

        def get_trials(self, *args, **kwargs):
            self.reads += 1
            if self.reads == 2:  # the first read ended in a wait, not a verdict
                self.waited.set()
            return super().get_trials(*args, **kwargs)

    watched = Watched(study_name=study.study_name, storage=storage)
    gate = fleet.TrialGate(target=3, poll_s=0.05)
    verdict = []
    waiter = threading.Thread(target=lambda: verdict.append(gate.open(watched)))
    waiter.start()
    assert watched.waited.wait(timeout=60)  # however slow the machine: the gate read, waited and read again
    assert not verdict  # still waiting: the running trial may complete the study
    study.tell(running, [0.6, 2.0] if running_ends == TrialState.COMPLETE else None, state=running_ends)
    waiter.join(timeout=10)
    assert verdict == [starts]
    assert fleet.TrialGate(target=3, timeout=0.2, poll_s=0.05).open(study) is starts  # no wait left either way


def _race(url: str, seeds: list[int]) -> list[str]:
    """Start one joining process per seed, all at the same instant; their outputs."""
    start = time.time() + 3 + 0.5 * len(seeds)  # every interpreter is up and waiting before the start
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", JOINER, url, str(seed), str(start)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for seed in seeds]
    return [proc.communicate(timeout=180)[0].strip() for proc in procs]


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_workers_joining_a_fresh_database_together_all_get_in_and_one_settings_win(backend, postgres_url, tmp_path):
    """Half the workers have another seed: whichever half wrote first, all of it gets in and the rest are refused.

    Without the retry, most of these workers die creating the tables (PostgreSQL's pg_type index, SQLite's
    alembic_version) in about every start.
    """
    sqlite = f"sqlite:///{tmp_path / 's.db'}"
    url = fresh_database(postgres_url, f"race_{os.getpid()}") if backend == "postgresql" else sqlite
    seeds = [1, 2] * (N_WORKERS // 2)
    outputs = _race(url, seeds)
    assert not [out for out in outputs if "cannot open storage" in out or "Traceback" in out], outputs
    recorded = optuna.load_study(study_name="race", storage=normalize_url(url)).user_attrs["seed"]
    other = 3 - recorded
    assert [out for seed, out in zip(seeds, outputs) if seed == recorded] == ["ok"] * (N_WORKERS // 2)
    refusal = (f"study 'race' measures trials with --seed {recorded}, but this worker was started with --seed {other}; "
               "start it with the study's settings, or give it another --study.")
    assert {out for seed, out in zip(seeds, outputs) if seed == other} == {refusal}


def test_archopt_search_with_another_seed_or_budget_is_refused_before_writing(tmp_path, capsys):
    """Run folders sharing one SQLite study: one with another seed or budget is refused and writes nothing."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    common = ["search", "--storage", url, "--study", "race", "--no-progress", "--trials", "2"]
    fleet.join_study(config(url, seed=1))
    before = snapshot(url)
    code = cli.main([*common, "--out", str(tmp_path / "b"), "--seed", "2"])  # supervised: no TensorFlow needed
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    refusal = ("archopt: error: study 'race' measures trials with --seed 1, but this worker was started with --seed 2; "
               "start it with the study's settings, or give it another --study.")
    assert [line for line in err.splitlines() if line.startswith("archopt:")] == [refusal]
    assert not (tmp_path / "b" / "run.json").exists()  # fixed and restarted, the worker is not refused by its folder
    assert cli.main([*common, "--out", str(tmp_path / "c"), "--seed", "1", "--train-steps", "40"]) == 2
    err = capsys.readouterr().err
    refusal = f"with --train-steps {TRAIN_STEPS}, but this worker was started with --train-steps 40;"
    assert refusal in err and "study 'race'" in err
    assert snapshot(url) == before


def _finished(proc: subprocess.Popen, log: Path) -> int:
    code = proc.wait(timeout=600)
    assert code in (0, 2), log.read_text()[-3000:]
    return code


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_eight_searches_started_together_on_a_fresh_database_all_run(backend, postgres_url, tmp_path, fashion_dir):
    """Eight real `archopt search` workers on a fresh database (eight run folders, one study); then two with other
    settings are refused."""
    sqlite = f"sqlite:///{tmp_path / 'shared.db'}"
    url = fresh_database(postgres_url, f"fleet_{os.getpid()}") if backend == "postgresql" else sqlite
    (tmp_path / "tiny.py").write_text(TINY_SPACE)
    target = N_WORKERS
    common = ["--storage", url, "--study", "fleet", "--trials", str(target), "--space", f"{tmp_path / 'tiny.py'}:build",
              "--data-dir", str(fashion_dir), "--sampler", "random", *TINY_BUDGET]
    logs = [tmp_path / f"w{i}.log" for i in range(N_WORKERS)]
    procs = [worker([*common, "--out", str(tmp_path / f"w{i}")], log=log) for i, log in enumerate(logs)]
    codes = [_finished(proc, log) for proc, log in zip(procs, logs)]
    assert codes == [0] * N_WORKERS, [log.read_text()[-1500:] for log in logs]

    final = trials(url, "fleet")
    complete = [t for t in final if t.state == TrialState.COMPLETE]
    # Exactly the target, but for two workers that found the last free place at once (TrialGate).
    assert target <= len(complete) <= target + 1, len(complete)
    print("complete trials:", len(complete), "of", len(final))
    assert not [t for t in final if t.state == TrialState.RUNNING]
    assert len({t.number for t in final}) == len(final)
    listed = pd.read_csv(tmp_path / "w0" / "trials.csv")
    assert sorted(listed["trial"]) == sorted(t.number for t in final)  # every trial once: none counted twice
    assert {t.user_attrs["pid"] for t in complete} <= {p.pid for p in procs}
    # Seeded per worker (SQLite too, shared by eight run folders): not one candidate eight times.
    assert len({t.params["units"] for t in complete}) > len(complete) // 2

    before = snapshot(url, "fleet")
    for name, flags, expected in [
        ("seed", ["--seed", "1"], "--seed 0, but this worker was started with --seed 1;"),
        ("steps", ["--train-steps", "40"], "--train-steps 20, but this worker was started with --train-steps 40;"),
    ]:
        log = tmp_path / f"{name}.log"
        proc = worker([*common, "--out", str(tmp_path / name), *flags], log=log)
        assert _finished(proc, log) == 2
        lines = [line for line in log.read_text().splitlines() if line.startswith("archopt:")]
        assert len(lines) == 1 and expected in lines[0] and "study 'fleet'" in lines[0], log.read_text()[-2000:]
        assert not (tmp_path / name / "run.json").exists()
    assert snapshot(url, "fleet") == before
    assert json.loads(json.dumps(before[1]))["seed"] == 0

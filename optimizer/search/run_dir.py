"""The run folder both engines share: created or resumed before a search, cleaned after a search that never started."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Callable

from optimizer.errors import ArchoptError
from optimizer.search.plan import Plan
from optimizer.study import run_config
from optimizer.study.progress import LOG_FILE, log_to
from optimizer.study.storage import make_storage, masked


def prepare_run_dir(plan: Plan) -> Plan:
    """Create the run folder and record its settings, or check them against the run being resumed and the study.

    Returns the plan to run: a resume without --storage of a run whose run.json masks its storage's password runs on
    that storage, the password read from $ARCHOPT_DB.
    """
    try:
        plan.run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ArchoptError(f"cannot create output folder `{plan.run_dir}`: {error.strerror}.") from None
    log_to(plan.run_dir / LOG_FILE)  # Optuna's log lines and warnings, held until now (see progress.console_log)
    path = plan.run_dir / run_config.FILE
    if path.exists():
        plan = _resumed(plan)
    # The study's own record: a fleet worker with other settings (and its own --out) is refused
    # before it writes.
    from optimizer.study.fleet import join_study

    join_study(plan.config)
    if not path.exists():
        run_config.save(plan.config, plan.run_dir)
    return plan


def _resumed(plan: Plan) -> Plan:
    default = plan.config.storage == run_config.own_storage(plan.run_dir)  # no --storage given
    saved = run_config.load(plan.run_dir, storage=None if default else plan.config.storage)
    run_config.check_resume(saved=saved, new=plan.config)
    if default and masked(saved.storage) != saved.storage:  # its password restored from $ARCHOPT_DB
        return dataclasses.replace(plan, config=dataclasses.replace(plan.config, storage=saved.storage))
    return plan


def leave_as_found_on_failure(plan: Plan, search: Callable[[], int]) -> int:
    """Run ``search``; should it fail (an error, an interrupt, a non-zero exit) before any trial of its study started,
    remove what this start created in the run folder, so that a retry with other settings is not a refused resume.

    Only what it created: a resumed folder (one with run.json) is left alone, and so is a folder, log or study.db
    that existed before; a study on a shared storage (a fleet's) stays too, as other workers may be joining it.
    """
    files = [run_config.FILE, LOG_FILE, *_own_study_files(plan)]
    existed = _first_missing(plan.run_dir), {name for name in files if (plan.run_dir / name).exists()}
    code = 1
    try:
        code = search()
    finally:
        if code != 0 and run_config.FILE not in existed[1] and not _started(plan):
            _remove_created(plan, files=files, existed=existed)
    return code


def _own_study_files(plan: Plan) -> list[str]:
    if plan.config.storage != run_config.own_storage(plan.run_dir):
        return []
    return [run_config.OWN_STORAGE + suffix for suffix in ("", "-wal", "-shm", "-journal")]


def _started(plan: Plan) -> bool:
    """Whether the study holds a trial; True when it cannot be read (then nothing is removed)."""
    import optuna

    if not (plan.run_dir / run_config.FILE).exists():
        return False  # run.json is written once the study is joined, before any trial
    try:
        storage = make_storage(plan.config.storage)  # bounded: a lost server is given 10 s, not forever
        try:
            return bool(optuna.load_study(study_name=plan.config.study, storage=storage).get_trials(deepcopy=False))
        finally:
            storage.engine.dispose()
    except KeyError:  # no such study
        return False
    except Exception:
        return True


def _first_missing(folder: Path) -> Path | None:
    """The outermost folder of ``folder``'s path that does not exist yet (``mkdir(parents=True)`` makes it)."""
    missing = None
    for path in (folder.absolute(), *folder.absolute().parents):
        if path.exists():
            return missing
        missing = path
    return missing


def _remove_created(plan: Plan, *, files: list[str], existed: tuple[Path | None, set[str]]) -> None:
    created, files_existed = existed
    log_to(None)
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)
        return
    for name in set(files) - files_existed:
        (plan.run_dir / name).unlink(missing_ok=True)

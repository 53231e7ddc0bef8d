"""What both engines do once their search ends: baselines, the front re-timed with them, finalists, the outputs."""

from __future__ import annotations

from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from optimizer.results import baselines, finalists, report, retime
from optimizer.search.plan import Plan
from optimizer.study import study as studies
from optimizer.study.fleet import shares_study


def finish(study: optuna.Study, objective: Any, *, plan: Plan, deadline: float | None = None) -> pd.DataFrame | None:
    """Measure new baselines, re-time the front with them, train finalists, rewrite the outputs.

    None when no trial completed: there is nothing to compare with, and the summary says why.
    """
    if not studies.count(study, TrialState.COMPLETE):
        return None
    baselines.measure_missing(study, objective, specs=plan.baselines)
    retime.retime_study(study, objective)
    if plan.finalists:
        finalists.train_finalists(study, config=plan.config, run_dir=plan.run_dir, k=plan.finalists,
                                  epochs=plan.finalist_epochs, device=objective.tags.get("device"), deadline=deadline,
                                  shared=shares_study(plan.config, run_dir=plan.run_dir))
    return report.write_outputs(study, plan.run_dir)

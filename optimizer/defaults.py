"""Names and defaults that the CLI and the stages share: one light module, importable without TensorFlow."""

import sys

DATASETS = ("mnist", "fashion_mnist", "cifar10")
TUNERS = ("random", "bayesian", "hyperband")  # KerasTuner's tuners behind `--engine keras-tuner`
TRAIN_STEPS = 300  # optimizer steps of training per trial
TRIALS = 500  # judged trials a search stops at when neither --trials nor --timeout is given
NO_TRIAL_LIMIT = sys.maxsize  # --timeout without --trials: every count compares below it
EXPORT_EPOCHS = 5  # epochs over the full training split when a trial is exported
AROUND_WIDTHS = ("stage", "global")  # --around-widths: a multiplier per stage and dense layer, or one for all
FINALISTS = 4  # front members a search trains with the export recipe before it ends (docs/finalists.md)
# With --timeout and finalists, search stops proposing at SEARCH_SHARE of it; the rest is theirs.
SEARCH_SHARE = 0.8
SAMPLERS = ("tpe", "nsga2", "gp", "random")  # Optuna's samplers behind `--sampler` (see optimizer.study.samplers)
DEFAULT_SAMPLER = "tpe"
# A trial's budget (optimizer.trial.budget.Budget) and split (optimizer.study.run_config.RunConfig)
BATCH_SIZE = 64
TIMING_S = 1.0  # most seconds of timed steps on fixed batches
MAX_STEP_MS = 1000.0  # slower candidates fail
ETA = 3  # successive halving: each rung keeps the top 1/ETA of its trials
VAL_SIZE = 5000  # validation images held out of the training split
TRAIN_SIZE = 20000  # training images per trial
TRIALS_PER_PROCESS = 20  # trials per worker process (see optimizer.search.supervisor)
# pareto.csv keeps the front members at least this share of the way from chance (1 / classes) to the
# best accuracy (docs/outputs.md); trials.csv keeps every trial.
FRONT_FLOOR_SHARE = 0.5
RETIME_ROUNDS = 3  # interleaved rounds per model of `archopt retime`
# A training step costs about 3x the forward pass (forward, input gradients, weight gradients), 2
# FLOPs per MAC each.
FLOPS_PER_MAC_TRAINING = 6
ENV_STORAGE = "ARCHOPT_DB"  # the environment variable holding a database server's URL, password included

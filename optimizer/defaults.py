"""Names and defaults that the CLI and the stages share: one light module, importable without TensorFlow."""

import sys

DATASETS = ("mnist", "fashion_mnist", "cifar10")
TUNERS = ("random", "bayesian", "hyperband")  # KerasTuner's tuners behind `--engine keras-tuner`
TRAIN_STEPS = 300  # optimizer steps of training per trial
TRIALS = 500  # judged trials a search stops at when neither --trials nor --timeout is given
NO_TRIAL_LIMIT = sys.maxsize  # --timeout without --trials: every count compares below it
EXPORT_EPOCHS = 5  # epochs over the full training split when a trial is exported
FINALISTS = 4  # front members a search trains with the export recipe before it ends (docs/finalists.md)
# With --timeout and finalists to train, the search stops proposing at SEARCH_SHARE of it; the rest is theirs.
SEARCH_SHARE = 0.8
# A training step costs about 3x the forward pass (forward, input gradients, weight gradients), 2 FLOPs per MAC each.
FLOPS_PER_MAC_TRAINING = 6

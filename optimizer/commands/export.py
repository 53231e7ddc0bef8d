"""`archopt export RUN --trial N --out DIR`: the chosen model, retrained and saved."""

from __future__ import annotations

import argparse
from pathlib import Path

from optimizer.commands.run_folder import add_run_arguments
from optimizer.defaults import EXPORT_EPOCHS

EXAMPLE = """example:
  archopt export results/fashion_mnist-default --trial 47 --out models/trial-47
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="retrain one trial on the full training split and save it",
        description="Retrain one trial's architecture on the full training split, score it once on the test set, and "
        "save it as a SavedModel and a .keras file.", epilog=EXAMPLE,
    )
    add_run_arguments(p)
    p.add_argument("--trial", type=int, required=True, help="trial number (see pareto.csv)")
    p.add_argument(
        "--out", type=Path, required=True, help="new folder for the SavedModel, model.keras and archopt.json"
    )
    p.add_argument(
        "--epochs", type=int, default=EXPORT_EPOCHS, help="epochs over the full training split (default: %(default)s)"
    )
    p.add_argument(
        "--augment", action=argparse.BooleanOptionalAction, default=True,
        help="retrain with half the images mirrored left-right, drawn anew each epoch (Fashion-MNIST, CIFAR-10; "
        "never MNIST) (default: %(default)s)",
    )
    p.add_argument("--reuse-finalist", action="store_true",
                   help="take a finalist's weights (trained by the search with this recipe on the training split less "
                        "validation) instead of retraining; refused when the epochs or augmentation differ")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from optimizer.results.export import export_trial

    record = export_trial(args.run_dir, trial=args.trial, out=args.out, epochs=args.epochs, augmented=args.augment,
                          reuse_finalist=args.reuse_finalist, storage=args.storage)
    print(
        f"trial {record['trial']}: test accuracy {record['test_accuracy']:.4f} "
        f"after {record['epochs']} epochs; saved to {args.out}"
    )
    print(f"weights: {record['weights']}.")
    searched = record["search_steps_trained"] or record["search_epochs"]
    unit = "steps" if record["search_steps_trained"] else "epochs"
    print(f"in the search it trained {searched} {unit} for {record['validation_accuracy']:.4f} validation accuracy.")
    return 0

"""`archopt explain MODEL`: the parameters and MACs of every layer, and optionally the measured step time.

Parameter count is a poor guide to training cost; this shows where the
multiply-accumulates are. With ``--time`` it also measures one training step and
reports how close the model gets to the machine's matmul peak.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from optimizer.commands.run_folder import add_storage_argument
from optimizer.defaults import BATCH_SIZE, FLOPS_PER_MAC_TRAINING
from optimizer.errors import ArchoptError, check_positive_int

if TYPE_CHECKING:
    import keras

# Forward pass 2 FLOPs per MAC, backward twice the forward: a training step is ~6 FLOPs per MAC.
EXAMPLE = """examples:
  archopt explain models/trial-47 --time
  archopt explain results/fashion_mnist-default --trial 47
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "explain", help="per-layer parameters and MACs of a model", epilog=EXAMPLE,
        description="Print the parameters and multiply-accumulates (MACs) of every layer of a model, and with --time "
        "its measured training step time.\n\n" + __doc__.split("\n\n", 1)[1],
    )
    p.add_argument(
        "model",
        metavar="MODEL",
        help="a .keras file, a folder from `archopt export`, `file.py:function` or `package.module:function`; a "
        "run folder with --trial",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--time", action="store_true", help="also measure the training step time")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="images per training step for --time")
    p.add_argument("--trial", type=int, default=None, help="MODEL is a run folder: explain this trial's model")
    add_storage_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the CLI imports every command to build its parser,
    # and `archopt --help` should not wait for TensorFlow.
    from optimizer.measure import costs
    from optimizer.results.rebuild import around_original, trial_model
    from optimizer.space import models

    check_positive_int(**{"--batch-size": args.batch_size})
    if args.trial is None:
        model = models.load_model(args.model)
    else:
        model = trial_model(Path(args.model), trial=args.trial, storage=args.storage)
    layer_costs = costs.layer_costs(model)
    report = costs.costs_to_json(layer_costs)
    if args.time:
        report.update(_timing(model, total_macs=report["total_macs"], batch_size=args.batch_size))
    original = None if args.trial is None else around_original(Path(args.model))
    if original is not None:  # a `--around` run: the variant beside the model it was searched around
        spec, original_costs = original[0], costs.layer_costs(original[1])
        report["original"] = {"model": spec, **costs.costs_to_json(original_costs)}
    print(json.dumps(report, indent=2) if args.json else costs.format_table(layer_costs) + _timing_text(report))
    if original is not None and not args.json:
        ratio = report["original"]["total_macs"] / max(report["total_macs"], 1)
        print(f"\nSearched around {spec} ({ratio:.2f}x this trial's MACs):\n{costs.format_table(original_costs)}")
    return 0


def _timing(model: keras.Model, *, total_macs: int, batch_size: int) -> dict:
    """Step time and achieved throughput, measured as the search measures every trial."""
    # Imported only here: a plain `explain` needs neither the timing loop nor the device.
    from optimizer.measure import timing
    from optimizer.space.candidate import compile_default

    compile_default(model)  # the search's optimizer and loss, so times compare with its trials
    x, y = _random_batches(model, batch_size=batch_size)
    step = timing.measure_step_time(model, x=x, y=y, batch_size=batch_size)
    achieved = FLOPS_PER_MAC_TRAINING * total_macs * batch_size / (step.median_ms / 1e3) / 1e9
    peak = timing.peak_gflops()
    return {
        "batch_size": batch_size,
        "step_time_ms": step.median_ms,
        "step_time_iqr_ms": step.iqr_ms,
        "achieved_gflops": achieved,
        "peak_gflops": peak,
        "fraction_of_peak": achieved / peak,
    }


def _random_batches(model: keras.Model, *, batch_size: int, batches: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs and integer labels: a step's time depends on shapes, not on the values."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ArchoptError(f"`--time` needs a model with one input and one output, but `{model.name}` has more.")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batches * batch_size, *model.inputs[0].shape[1:])).astype(model.inputs[0].dtype)
    y = rng.integers(0, model.outputs[0].shape[-1], size=batches * batch_size)
    return x, y


def _timing_text(report: dict) -> str:
    if "step_time_ms" not in report:
        return ""
    return (
        f"\nStep time: {report['step_time_ms']:.2f} ms (IQR {report['step_time_iqr_ms']:.2f} ms) "
        f"at batch {report['batch_size']}; {report['achieved_gflops']:,.1f} GFLOP/s achieved, "
        f"{100 * report['fraction_of_peak']:.1f}% of the {report['peak_gflops']:,.1f} GFLOP/s matmul peak"
    )

"""The hardware a step time was measured on: thread settings, fingerprint, device class.

Step times are only comparable on the same kind of hardware with the same TensorFlow
thread settings, so every study records a fingerprint and keeps its Pareto front per
``device_class``.
"""

from __future__ import annotations

import os
import platform
import socket
import warnings

import keras
import tensorflow as tf

from optimizer.errors import check_positive_int

# Two inter-op threads: a convolution's backward pass has two independent ops (input
# and filter gradients) that can run side by side. On the shared 2-core box, inter=2
# measured the same spread of CPU time per step between processes as inter=1 (2-3%)
# and up to 10% less of it for the largest CNN; wall time was too load-bound to rank
# them. The intra-op pool gets every core the process may run on, so that trials
# train as fast as the machine allows.
MAX_INTER_OP_THREADS = 2


def available_cores() -> int:
    """The number of cores this process may run on (its affinity, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def configure_threads(*, intra: int | None = None, inter: int | None = None) -> None:
    """Fix TensorFlow's thread pools so CPU step times are comparable between runs.

    Must run before TensorFlow executes its first op; calling it again with the same
    values is harmless; later, other values only warn. ``intra`` defaults to ``available_cores()``, ``inter`` to that
    or ``MAX_INTER_OP_THREADS``, whichever is fewer.
    """
    intra = available_cores() if intra is None else intra
    inter = min(available_cores(), MAX_INTER_OP_THREADS) if inter is None else inter
    check_positive_int(intra=intra, inter=inter)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:
        # TensorFlow already ran an op in this process (a notebook, a test): its pools are fixed.
        # Stopping would lose the user's session over a setting that affects comparability, so warn;
        # the fingerprint records the threads in use, and device_class keeps such trials apart.
        warnings.warn(
            f"Cannot set TensorFlow threads to intra={intra}, inter={inter}: TensorFlow already started with "
            f"intra={tf.config.threading.get_intra_op_parallelism_threads()}, "
            f"inter={tf.config.threading.get_inter_op_parallelism_threads()}; keeping those.",
            RuntimeWarning, stacklevel=2,
        )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _gpu_names() -> list[str]:
    gpus = tf.config.list_physical_devices("GPU")
    return [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]


def fingerprint() -> dict:
    """What the step times depend on: processor, threads, library versions, XLA, host.

    ``xla`` is what Keras' ``jit_compile="auto"`` picks here (on with a GPU, off on a
    CPU-only machine); each ``StepTime`` records the model's actual setting.
    """
    gpus = _gpu_names()
    return {
        "cpu": _cpu_model(),
        "gpus": gpus,
        "cores": available_cores(),
        "logical_cpus": os.cpu_count(),
        # 0 means TensorFlow's default: one thread per logical CPU.
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "xla": bool(gpus),
        "hostname": socket.gethostname(),
    }


def device_class(fp: dict) -> str:
    """A short stable name for hardware whose step times compare, e.g. ``cpu:AMD EPYC x2``."""
    if fp["gpus"]:
        count = len(fp["gpus"])
        return f"gpu:{fp['gpus'][0]}" + (f" x{count}" if count > 1 else "")
    return f"cpu:{fp['cpu']} x{fp['intra_op_threads'] or fp['cores']}"


def worker_tags() -> dict:
    """Where a trial ran: step times are only comparable within one device class."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "device": device_class(fingerprint())}

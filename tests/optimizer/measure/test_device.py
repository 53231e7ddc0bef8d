"""Thread settings, fingerprint and device class of the machine step times are measured on."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer.errors import ArchoptError
from optimizer.measure import device

FINGERPRINT_KEYS = {
    "cpu", "gpus", "cores", "logical_cpus", "intra_op_threads", "inter_op_threads",
    "tensorflow", "keras", "xla", "hostname",
}

# In a fresh interpreter: TensorFlow's thread settings only change before its first op.
THREADS_SCRIPT = """
import json, tensorflow as tf
from optimizer.measure import device
from optimizer.errors import ArchoptError
device.configure_threads(intra=1, inter=1)
device.configure_threads(intra=1, inter=1)
tf.constant(1.0).numpy()
device.configure_threads(intra=1, inter=1)  # same values after the first op: harmless
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    device.configure_threads(intra=2, inter=1)  # too late: warns, keeps the threads in use
changed = " ".join(str(w.message) for w in caught)
print(json.dumps({"fingerprint": device.fingerprint(), "changed": changed}))
"""


def test_fingerprint_has_every_key():
    fp = device.fingerprint()
    assert set(fp) == FINGERPRINT_KEYS
    assert fp["cores"] >= 1 and fp["cpu"]
    assert fp["xla"] == bool(fp["gpus"])


def test_device_class_is_stable():
    assert device.device_class(device.fingerprint()) == device.device_class(device.fingerprint())


def test_device_class_names_the_cpu_or_the_gpu():
    cpu = {"cpu": "AMD EPYC", "gpus": [], "cores": 2, "intra_op_threads": 0}
    assert device.device_class(cpu) == "cpu:AMD EPYC x2"
    assert device.device_class({**cpu, "intra_op_threads": 1}) == "cpu:AMD EPYC x1"
    assert device.device_class({**cpu, "gpus": ["NVIDIA H100 80GB HBM3"]}) == "gpu:NVIDIA H100 80GB HBM3"
    assert device.device_class({**cpu, "gpus": ["NVIDIA H100"] * 2}) == "gpu:NVIDIA H100 x2"


@pytest.mark.parametrize("kwargs", [{"intra": 0}, {"inter": -1}, {"intra": 1.5}, {"inter": True}])
def test_configure_threads_rejects_non_positive_integers(kwargs):
    with pytest.raises(ArchoptError, match="must be a positive integer"):
        device.configure_threads(**kwargs)


def test_configure_threads_is_idempotent_and_warns_of_late_changes():
    done = subprocess.run(
        [sys.executable, "-c", THREADS_SCRIPT], capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).parents[3], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["fingerprint"]["intra_op_threads"] == 1
    assert result["fingerprint"]["inter_op_threads"] == 1
    assert "intra=2, inter=1" in result["changed"] and "already started with intra=1, inter=1" in result["changed"]

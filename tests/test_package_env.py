"""Importing backproplab chooses passive OpenMP waiting (see backproplab/__init__.py for the measurement)."""

import os
import subprocess
import sys

PRINT_POLICY = "import backproplab, os; print(os.environ.get('OMP_WAIT_POLICY'))"


def _policy_after_import(env_policy: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_policy is not None:
        env["OMP_WAIT_POLICY"] = env_policy
    done = subprocess.run([sys.executable, "-c", PRINT_POLICY], env=env, capture_output=True, text=True,
                          check=True, timeout=60)
    return done.stdout.strip()


def test_passive_waiting_is_the_default():
    assert _policy_after_import(None) == "PASSIVE"


def test_a_policy_the_user_set_wins():
    assert _policy_after_import("ACTIVE") == "ACTIVE"

"""Fixtures of the training tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _restore_threads():
    """Tiny runs are fastest on one thread, and the CPU may be shared; restore torch's setting after."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)

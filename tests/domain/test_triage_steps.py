"""Every rejection reason tells operators what to do (the triage listing reads them all)."""

from __future__ import annotations

import pytest

from functions.domain.triage import rejection_steps
from schemas.orders import RejectionReason


@pytest.mark.parametrize("reason", list(RejectionReason))
def test_every_rejection_reason_has_next_steps(reason):
    assert rejection_steps(reason)

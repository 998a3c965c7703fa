"""Requisition states as people read them: one label per state, never the internal name."""

from __future__ import annotations

import pytest

from approvals.errors import IllegalTransition
from approvals.states import LABELS, State, label, next_state


def test_every_state_has_its_own_plain_label():
    """Every state a requisition can be in has a label in plain words, and no two states read the same."""
    assert set(LABELS) == set(State)
    assert len(set(LABELS.values())) == len(LABELS)
    for state in State:
        assert "_" not in label(state) and label(state.value) == label(state)


def test_a_refused_move_names_the_state_in_plain_words():
    """Approving a requisition whose purchase order is on its way is refused in a buyer's words, not 'po_pending'."""
    with pytest.raises(IllegalTransition) as refused:
        next_state("po_pending", "approve")
    assert str(refused.value).startswith("Cannot approve a requisition that is awaiting the purchase order;")
    assert refused.value.current == "po_pending"  # programs still get the state's name

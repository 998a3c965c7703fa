"""The approver's card says when a price is far from the catalog price, for an item never bought before."""

from __future__ import annotations

from tests.edges.test_llm_intake import approver_note, plain  # noqa: F401  (the assistant with no LLM)
from tests.factories import submit

WRAP = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 40, "unit": "roll"}


def test_almost_twice_the_catalog_price_is_on_the_approvers_card(plain, service, directory):  # noqa: F811
    """Jake's first stretch wrap order at $60 a roll, where the catalog lists it at $32: the approver's card says
    it is 88% above the catalog price, in dollars; at the catalog price the card says nothing."""
    catalog = directory.item_by_sku["PKG-SW-18"].unit_price
    assert catalog == 32  # the sample company's catalog
    high = service.submit(submit(lines=[{**WRAP, "unit_price": 60}]))
    note = approver_note(plain.bot, high.number, high.requisition.waiting_on[0])
    assert note == "What is unusual: Stretch wrap 18in: $60.00 a roll is 88% above the catalog price of $32.00."
    usual = service.submit(submit(site="CHI", cost_center="CHI-OPS", lines=[{**WRAP, "unit_price": 32}]))
    assert approver_note(plain.bot, usual.number, usual.requisition.waiting_on[0]) is None

"""Cards speak people's words: a category by its name, never its code."""

from __future__ import annotations

from bot.intake.cards import requisition_card
from tests.factories import submit


def test_the_category_on_a_card_is_its_name(service, directory):
    """Jake's stretch wrap card says 'Packaging, stock', not the code 'packaging'."""
    view = service.submit(submit()).requisition
    card = requisition_card(view, "zoe.martin", directory)
    category = next(f.value for f in card.facts if f.label == "Category")
    name = directory.category_by_code[view.category].name
    assert category.startswith(name + ",") and name != view.category

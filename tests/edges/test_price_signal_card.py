"""The approver's card (and the console's requisition page) says when a price is far from the catalog or contract
price, or a quantity far above the catalog's usual order, for an item never bought before."""

from __future__ import annotations

import html

import yaml

from tests.edges.test_console import console, sign_in  # noqa: F401  (the console over HTTP)
from tests.edges.test_group_cards import _surfaces  # Slack blocks, a Teams card and the web chat's HTML
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


def test_an_outsized_quantity_of_an_item_with_little_history_is_on_the_approvers_card(plain, service):  # noqa: F811
    """Jake's first stretch wrap order for 200 rolls, where the catalog's usual order is 40: the approver's card says
    it is 5 times the catalog's usual order, in Slack, Teams and the web chat alike; 600 rolls is above the
    catalog's largest order of 400."""
    many = service.submit(submit(lines=[{**WRAP, "quantity": 200, "unit_price": 32}]))
    approver = many.requisition.waiting_on[0]
    note = approver_note(plain.bot, many.number, approver)
    assert note == "What is unusual: Stretch wrap 18in: 200 is 5 times the catalog's usual order of 40."
    for surface, shown in _surfaces(plain.bot.card_for(many.number, approver)).items():
        assert "200 is 5 times the catalog's usual order of 40." in html.unescape(shown), surface
    most = service.submit(
        submit(site="CHI", cost_center="CHI-OPS", lines=[{**WRAP, "quantity": 600, "unit_price": 32}])
    )
    note = approver_note(plain.bot, most.number, most.requisition.waiting_on[0])
    assert note is not None and "Stretch wrap 18in: 600 is more than the catalog's largest order of 400." in note


def test_a_price_above_the_suppliers_contract_price_names_the_contract(plain, service):  # noqa: F811
    """Grainger's contract in the sample company lists cut-resistant gloves at $48 a dozen (the catalog says $54):
    ordering 20 dozen from Grainger at $62 tells the approver it is 29% above Grainger's contract price."""
    gloves = {"description": "Cut-resistant gloves", "sku": "MRO-GLV-L", "quantity": 20, "unit": "dozen"}
    result = service.submit(submit(supplier="grainger", cost_center="DAL-MAINT", lines=[{**gloves, "unit_price": 62}]))
    note = approver_note(plain.bot, result.number, result.requisition.waiting_on[0])
    assert note == (
        "What is unusual: Cut-resistant gloves: $62.00 a dozen is 29% above W.W. Grainger's contract price of $48.00."
    )


def test_the_console_requisition_page_shows_what_is_unusual(console):  # noqa: F811
    """The requisition page in the console carries the same note as the approver's card: 200 rolls of stretch wrap
    is 5 times the catalog's usual order of 40."""
    result = console.runtime.service.submit(submit(lines=[{**WRAP, "quantity": 200, "unit_price": 32}]))
    sign_in(console, "auditor")
    page = html.unescape(console.get(f"/console/requisitions/{result.number}").text)
    assert "<dt>What is unusual</dt><dd>Stretch wrap 18in: 200 is 5 times the catalog's usual order of 40.</dd>" in page


def test_a_free_text_items_usual_quantity_comes_from_the_whole_company(plain, service):  # noqa: F811
    """Three other people at Chicago, Atlanta and Edison ordered 4 'forklift seat cushions' each, from other
    suppliers: Jake's first order of 40 at Dallas is 10 times that item's usual quantity, on the approver's card."""
    cushions = {"description": "Forklift seat cushion", "quantity": 4, "unit_price": 60, "category": "mro"}
    for who, site, cc, supplier in (
        ("frank.novak", "CHI", "CHI-OPS", "grainger"),
        ("denise.washington", "ATL", "ATL-OPS", "fastenal"),
        ("paul.russo", "NJ", "NJ-OPS", "grainger"),
    ):
        service.submit(submit(who, site=site, cost_center=cc, supplier=supplier, lines=[cushions]))
    result = service.submit(
        submit(supplier="rapid-repair", cost_center="DAL-MAINT", lines=[{**cushions, "quantity": 40}])
    )
    note = approver_note(plain.bot, result.number, result.requisition.waiting_on[0])
    assert note is not None
    assert "Forklift seat cushion: 40 is 10 times the usual quantity of 4 (3 past requests)." in note


def test_a_newly_activated_catalog_counts_without_a_restart(db_url, tmp_path):
    """An administrator activates a catalog where stretch wrap is usually ordered 10 rolls at a time: the running
    server's next first order of 40 rolls is 4 times the catalog's usual order, with no restart."""
    from tests.edges.test_directory_versions import COMPANY, _cli, _runtime

    runtime = _runtime(db_url, tmp_path)
    try:
        forty = {**WRAP, "unit_price": 32}
        before = runtime.service.submit(submit(lines=[forty]))
        assert runtime.llm.summaries.note_for(runtime.service.view(before.number)) is None
        data = yaml.safe_load(COMPANY.read_text())
        next(i for i in data["items"] if i["sku"] == "PKG-SW-18")["usual_quantity"] = 10
        (tmp_path / "smaller.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        activated = _cli(db_url, "directory", "activate", str(tmp_path / "smaller.yaml"))
        assert activated.exit_code == 0, activated.output
        runtime.directory.refresh()  # what every replica does before its next action
        after = runtime.service.submit(submit("maria.lopez", site="CHI", cost_center="CHI-OPS", lines=[forty]))
        note = runtime.llm.summaries.note_for(runtime.service.view(after.number))
        assert note == "Stretch wrap 18in: 40 is 4 times the catalog's usual order of 10."
    finally:
        runtime.engine.dispose()

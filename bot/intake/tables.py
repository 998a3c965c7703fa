"""Quote tables pasted into a message, read as the lines they list.

People forward a supplier's quote as it came: a header ("Item | Qty | Unit | Price", "QTY  DESCRIPTION
UNIT PRICE  EXT") and one row per item, cells split by bars or by runs of spaces. Read as prose, the
numbers inside a description ("Hex bolt 1/2-13 x 2") compete with the quantity column, and a price column
without a word before it reads as nothing. Here each row becomes the sentence the reader understands
("200 ea Hex bolt 1/2-13 x 2 @ 0.42"), by its header's column names; nothing else in the message changes.
Pure: text in, text out.
"""

from __future__ import annotations

import re

# what a header cell names, by its words
_ROLES = {
    "qty": "qty",
    "qty.": "qty",
    "quantity": "qty",
    "q'ty": "qty",
    "count": "qty",
    "item": "desc",
    "items": "desc",
    "description": "desc",
    "desc": "desc",
    "product": "desc",
    "item description": "desc",
    "unit": "unit",
    "uom": "unit",
    "u/m": "unit",
    "um": "unit",
    "price": "price",
    "unit price": "price",
    "price each": "price",
    "each": "price",
    "rate": "price",
    "unit cost": "price",
    "cost": "price",
    "ext": "total",
    "ext.": "total",
    "extended": "total",
    "ext price": "total",
    "extended price": "total",
    "amount": "total",
    "total": "total",
    "line total": "total",
    "sku": "sku",
    "part": "sku",
    "part #": "sku",
    "part no": "sku",
    "item #": "sku",
    "item no": "sku",
}
_SEPARATOR_ROW = re.compile(r"^[\s|:+\-=]+$")
_NUMBER = re.compile(r"^\d[\d,]*(?:\.\d+)?$")


def _cells(line: str) -> list[str]:
    if "|" in line:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
    else:
        cells = [c.strip() for c in re.split(r"\t+|\s{2,}", line.strip())]
    return [c for c in cells]


def _roles(cells: list[str]) -> list[str] | None:
    roles = [_ROLES.get(re.sub(r"\s+", " ", c.lower().strip(" :#")), "") for c in cells]
    if len(cells) < 2 or "" in roles or "qty" not in roles or "desc" not in roles:
        return None
    if "price" not in roles and "total" not in roles:
        return None
    return roles


def _row(cells: list[str], roles: list[str]) -> str | None:
    cell = dict(zip(roles, cells))
    if "price" not in cell and re.fullmatch(r"[$€£]?\d[\d,]*\.\d+", cell.get("unit", "")):
        cell["price"] = cell.pop("unit")  # "QTY DESCRIPTION UNIT EXT": here UNIT is the unit price
    qty = cell.get("qty", "")
    if not _NUMBER.match(qty) or not cell.get("desc"):
        return None
    desc = re.sub(r"\s*,\s*", " ", cell["desc"])  # a comma inside a description would split the line
    sentence = f"{qty} {cell.get('unit', '')} {desc}".replace("  ", " ")
    if cell.get("sku"):
        sentence += f" ({cell['sku']})"
    if cell.get("price"):
        sentence += f" @ {cell['price']}"
        if cell.get("total"):
            sentence += f" = {cell['total']}"
    elif cell.get("total"):
        sentence += f", {cell['total']} total"
    return sentence


_MONEY_CELL = re.compile(r"^[$€£]?\s?\d[\d,]*(?:\.\d+)?$")
_COUNT_CELL = re.compile(r"^(?P<n>\d[\d,]*)(?:\s+(?P<unit>[a-z]+\.?))?$", re.IGNORECASE)


def _headless_row(line: str) -> str | None:
    """ "S-4127 Carton 20x12x12, bdl of 25 | 30 bundles | $46.25 | $1,387.50": a row pasted without its header,
    read by its shape (a description, a count, a price and maybe its extension), or None when it has another."""
    if "|" not in line:
        return None
    cells = _cells(line)
    if len(cells) not in (3, 4) or not re.search(r"[A-Za-z]{2,}", cells[0]):
        return None
    count = _COUNT_CELL.match(cells[1])
    if count is None or not all(_MONEY_CELL.match(c) for c in cells[2:]):
        return None
    roles = ["desc", "qty", "price", "total"][: len(cells)]
    unit = count.group("unit") or ""
    return _row([cells[0], count.group("n"), *cells[2:], unit], [*roles, "unit"])


def rows_as_sentences(text: str) -> str:
    """The message with each quote-table row written as one line the reader understands, and the header
    dropped; a message without a table comes back unchanged."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    out: list[str] = []
    roles: list[str] | None = None
    for line in lines:
        cells = _cells(line) if line.strip() else []
        if roles is not None:
            if cells and _SEPARATOR_ROW.match(line):
                out.append("")
                continue
            if len(cells) == len(roles):
                sentence = _row(cells, roles)
                if sentence is not None:
                    out.append(sentence)
                    continue
            roles = None
        headless = _headless_row(line) if roles is None else None
        if headless is not None:
            out.append(headless)
            continue
        found = _roles(cells) if cells else None
        if found is not None:
            roles = found
            out.append("")  # the header names columns, not a thing
            continue
        out.append(line)
    return "\n".join(out)

"""The company directory: sites, people, roles, cost centers, suppliers, catalog.

Routing reads it as plain data; it is loaded from a YAML file (see examples/company.yaml)
and validated once, so every lookup after that is a dictionary access.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from approvals import taxonomy
from approvals.bounded_yaml import DIRECTORY, YamlRefused, check_bounds
from approvals.errors import DirectoryInvalid

ALL_SITES = "*"
RiskTier = Literal["low", "medium", "high"]
ContractStatus = Literal["active", "expiring", "expired", "none"]
ItemType = Literal["stock", "non_stock", "mro", "capex", "services"]


# Sites and people name their time zone and holiday calendar; the directory checks the names at load, and the
# business calendars (approvals/scheduling/calendar.py) use them.
@lru_cache(maxsize=256)
def holiday_calendar(country: str, subdivision: str | None) -> Any:
    """The public holidays of a country (and subdivision), from the `holidays` package.

    Raises ValueError with what to fix for an unknown country or subdivision.
    """
    import holidays

    try:
        return holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        if country not in holidays.list_supported_countries():
            raise ValueError(
                f"no public holiday calendar for country {country!r}; use an ISO 3166 code such as US, CA, MX, GB, DE"
            ) from None
        known = ", ".join(holidays.list_supported_countries()[country][:12])
        raise ValueError(f"country {country} has no subdivision {subdivision!r}; known: {known} ...") from None


def time_zone(name: str) -> ZoneInfo:
    """A time zone by its IANA name, or ValueError saying what a valid name looks like."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "America"
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as America/Chicago") from None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Site(_Frozen):
    code: str
    name: str
    region: str
    timezone: str = "America/Chicago"
    country: str = "US"
    subdivision: str | None = None
    aliases: tuple[str, ...] = ()


class RoleGrant(_Frozen):
    """A role a person holds, at some sites or everywhere ("*")."""

    role: str
    sites: tuple[str, ...] = (ALL_SITES,)

    def covers(self, site: str) -> bool:
        return ALL_SITES in self.sites or site in self.sites


class Person(_Frozen):
    id: str
    name: str
    email: str
    title: str = ""
    site: str | None = None
    manager: str | None = None
    roles: tuple[RoleGrant, ...] = ()
    approval_limit: Decimal = Decimal("0")
    timezone: str | None = None
    slack_user_id: str | None = None
    teams_object_id: str | None = None
    # False: has left or is disabled. Kept so names in history and reporting lines still resolve; never given
    # a step, and their open steps move on (approvals.leavers)
    active: bool = True

    @field_validator("roles", mode="before")
    @classmethod
    def _roles_shorthand(cls, value: object) -> object:
        # "buyer" means everywhere; {"warehouse_manager": ["DAL"]} means at DAL only.
        if not isinstance(value, list):
            return value
        grants: list[dict[str, Any]] = []
        for item in value:
            if isinstance(item, str):
                grants.append({"role": item})
            elif isinstance(item, dict) and "role" not in item and len(item) == 1:
                ((role, sites),) = item.items()
                sites = [sites] if isinstance(sites, str) else sites
                grants.append({"role": role, "sites": tuple(sites)})
            else:
                grants.append(item)
        return grants

    def has_role(self, role: str, site: str | None = None) -> bool:
        return any(g.role == role and (site is None or g.covers(site)) for g in self.roles)


class Group(_Frozen):
    id: str
    name: str
    members: tuple[str, ...]


class Unspsc(_Frozen):
    """Where a category sits in the UNSPSC code set, for mapping to an ERP's item categories."""

    segment: str | None = None  # e.g. "43000000"
    family: str | None = None  # e.g. "43210000"


class Category(_Frozen):
    code: str
    name: str
    description: str = ""
    typical_items: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    parent: str | None = None
    unspsc: Unspsc | None = None
    manager: str | None = None


class CostCenter(_Frozen):
    code: str
    name: str
    site: str | None = None
    owner: str
    budget: Decimal
    spent: Decimal = Decimal("0")
    hard_stop: bool = False


class Supplier(_Frozen):
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    risk_tier: RiskTier = "medium"
    contracted: bool = False
    contract_status: ContractStatus = "none"
    blocked: bool = False
    block_reason: str | None = None
    categories: tuple[str, ...] = ()
    currency: str = "USD"
    new: bool = False  # added through a supplier request (approvals/new_suppliers.py): the policy tests supplier.new
    # the contract's agreed unit prices by SKU, in the supplier's currency; while the contract is active or
    # expiring, the approver's card compares a request's prices with them (approvals/signals.py)
    contract_prices: dict[str, Decimal] = Field(default_factory=dict)


class Item(_Frozen):
    sku: str
    name: str
    category: str
    item_type: ItemType = "stock"
    unit: str = "each"
    unit_price: Decimal | None = None
    supplier: str | None = None
    keywords: tuple[str, ...] = ()
    # how much of it one order usually asks for, and the most one order should, in `unit`: with little history of
    # the item, the approver's card compares a request's quantity with them (approvals/signals.py)
    usual_quantity: Decimal | None = None
    max_order_quantity: Decimal | None = None


class Directory(_Frozen):
    """Everything routing needs to know about the company, validated for consistency."""

    company: str
    currency: str = "USD"
    sites: tuple[Site, ...]
    people: tuple[Person, ...]
    groups: tuple[Group, ...] = ()
    categories: tuple[Category, ...]
    cost_centers: tuple[CostCenter, ...]
    suppliers: tuple[Supplier, ...]
    items: tuple[Item, ...] = ()
    source_hash: str = Field(default="", exclude=True)
    # the stored version this directory was read from (approvals/directory_store.py); None for a file read directly
    version_id: int | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _references_resolve(self) -> "Directory":
        problems: list[str] = []
        people = {p.id for p in self.people}
        sites = {s.code for s in self.sites}
        categories = {c.code for c in self.categories}
        suppliers = {s.id for s in self.suppliers}
        for kind, ids in (
            ("person", [p.id for p in self.people]),
            ("site", [s.code for s in self.sites]),
            ("supplier", [s.id for s in self.suppliers]),
            ("cost center", [c.code for c in self.cost_centers]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                problems.append(f"duplicate {kind} ids: {', '.join(dupes)}")
        for p in self.people:
            if p.manager and p.manager not in people:
                problems.append(f"{p.id}: manager {p.manager!r} is not a person")
            if p.site and p.site not in sites:
                problems.append(f"{p.id}: site {p.site!r} is not a site")
            for g in p.roles:
                unknown = [s for s in g.sites if s != ALL_SITES and s not in sites]
                if unknown:
                    problems.append(f"{p.id}: role {g.role} names unknown sites {unknown}")
        for grp in self.groups:
            for m in grp.members:
                if m not in people:
                    problems.append(f"group {grp.id}: member {m!r} is not a person")
        problems.extend(taxonomy.problems([(c.code, c.parent) for c in self.categories]))
        for c in self.categories:
            if c.manager and c.manager not in people:
                problems.append(f"category {c.code}: manager {c.manager!r} is not a person")
        for sup in self.suppliers:
            for code in sup.categories:
                if code not in categories:
                    problems.append(f"supplier {sup.id}: category {code!r} is unknown")
        for cc in self.cost_centers:
            if cc.owner not in people:
                problems.append(f"cost center {cc.code}: owner {cc.owner!r} is not a person")
            if cc.site and cc.site not in sites:
                problems.append(f"cost center {cc.code}: site {cc.site!r} is not a site")
        problems.extend(self._calendar_problems())
        for it in self.items:
            if it.category not in categories:
                problems.append(f"item {it.sku}: category {it.category!r} is unknown")
            if it.supplier and it.supplier not in suppliers:
                problems.append(f"item {it.sku}: supplier {it.supplier!r} is unknown")
        if problems:
            raise DirectoryInvalid(problems)
        return self

    @model_validator(mode="after")
    def _contract_prices_resolve(self) -> "Directory":
        skus = {i.sku for i in self.items}
        problems = [
            f"supplier {s.id}: contract price for {sku!r}, which is not a catalog item"
            if sku not in skus
            else f"supplier {s.id}: contract price for {sku} must be more than 0, not {price}"
            for s in self.suppliers
            for sku, price in s.contract_prices.items()
            if sku not in skus or price <= 0
        ]
        if problems:
            raise DirectoryInvalid(problems)
        return self

    @model_validator(mode="after")
    def _order_sizes_valid(self) -> "Directory":
        problems: list[str] = []
        for it in self.items:
            for name, value in (("usual_quantity", it.usual_quantity), ("max_order_quantity", it.max_order_quantity)):
                if value is not None and value <= 0:
                    problems.append(f"item {it.sku}: {name} must be more than 0, not {value}")
            usual, most = it.usual_quantity, it.max_order_quantity
            if usual is not None and most is not None and 0 < most < usual:
                problems.append(
                    f"item {it.sku}: max_order_quantity {most} is less than its usual_quantity {usual}; "
                    "the largest order cannot be smaller than the usual one"
                )
        if problems:
            raise DirectoryInvalid(problems)
        return self

    def _calendar_problems(self) -> list[str]:
        """Time zones and holiday calendars, checked at load so the scheduler never meets a bad one mid-tick."""
        problems: list[str] = []
        for s in self.sites:
            for check in (lambda: time_zone(s.timezone), lambda: holiday_calendar(s.country, s.subdivision)):
                try:
                    check()
                except ValueError as exc:
                    problems.append(f"site {s.code}: {exc}")
        for p in self.people:
            if p.timezone is not None:
                try:
                    time_zone(p.timezone)
                except ValueError as exc:
                    problems.append(f"person {p.id}: {exc}")
        return problems

    # Lookups are built once; the model is frozen so they never go stale.
    @cached_property
    def person_by_id(self) -> dict[str, Person]:
        return {p.id: p for p in self.people}

    @cached_property
    def site_by_code(self) -> dict[str, Site]:
        return {s.code: s for s in self.sites}

    @cached_property
    def supplier_by_id(self) -> dict[str, Supplier]:
        return {s.id: s for s in self.suppliers}

    @cached_property
    def cost_center_by_code(self) -> dict[str, CostCenter]:
        return {c.code: c for c in self.cost_centers}

    @cached_property
    def category_by_code(self) -> dict[str, Category]:
        return {c.code: c for c in self.categories}

    @cached_property
    def group_by_id(self) -> dict[str, Group]:
        return {g.id: g for g in self.groups}

    @cached_property
    def item_by_sku(self) -> dict[str, Item]:
        return {i.sku: i for i in self.items}

    @cached_property
    def roles(self) -> set[str]:
        return {g.role for p in self.people for g in p.roles}

    def person(self, person_id: str) -> Person | None:
        return self.person_by_id.get(person_id)

    def zone_of(self, person_id: str) -> ZoneInfo:
        """The time zone a person reads times in: their own, else their site's, else UTC."""
        person = self.person_by_id.get(person_id)
        site = self.site_by_code.get(person.site or "") if person else None
        name = (person.timezone if person else None) or (site.timezone if site else None) or "UTC"
        return time_zone(name)

    @cached_property
    def _holders(self) -> dict[str, list[Person]]:
        holders: dict[str, list[Person]] = {}
        for p in self.people:
            for role in {g.role for g in p.roles}:
                holders.setdefault(role, []).append(p)
        return holders

    @cached_property
    def _role_at_site(self) -> dict[tuple[str, str | None], tuple[Person, ...]]:
        return {}  # (role, site) -> holders, filled as routing asks: every request asks the same few

    def people_with_role(self, role: str, site: str | None) -> list[Person]:
        """People holding `role` at `site` (or anywhere when site is None), in file order."""
        key = (role, site)
        held = self._role_at_site.get(key)
        if held is None:
            held = tuple(p for p in self._holders.get(role, ()) if p.active and p.has_role(role, site))
            if len(self._role_at_site) < 4096:  # a site value routing never saw before is not kept forever
                self._role_at_site[key] = held
        return list(held)

    def manager_chain(self, person_id: str, limit: int = 32) -> list[str]:
        """The person's managers, nearest first. Stops at a cycle instead of looping."""
        chain: list[str] = []
        seen = {person_id}
        current = self.person_by_id.get(person_id)
        while current and current.manager and len(chain) < limit:
            if current.manager in seen:
                break
            chain.append(current.manager)
            seen.add(current.manager)
            current = self.person_by_id.get(current.manager)
        return chain

    def manages(self, manager_id: str, person_id: str) -> bool:
        """Whether `manager_id` is a current person above `person_id` in the reporting lines (at any level)."""
        boss = self.person_by_id.get(manager_id)
        return (
            boss is not None and boss.active and manager_id != person_id and manager_id in self.manager_chain(person_id)
        )

    def team_of(self, manager_id: str) -> list[Person]:
        """The current people below `manager_id` in the reporting lines (their reports, and theirs), by name."""
        return sorted(
            (p for p in self.people if p.active and self.manages(manager_id, p.id)), key=lambda p: (p.name, p.id)
        )

    def manager_cycles(self) -> list[list[str]]:
        """Every loop in the reporting lines (A reports to B reports to A)."""
        cycles: list[list[str]] = []
        reported: set[frozenset[str]] = set()
        for p in self.people:
            path = [p.id]
            current = p
            while current.manager:
                if current.manager in path:
                    loop = path[path.index(current.manager) :]
                    key = frozenset(loop)
                    if key not in reported:
                        reported.add(key)
                        cycles.append(loop + [current.manager])
                    break
                path.append(current.manager)
                nxt = self.person_by_id.get(current.manager)
                if nxt is None:
                    break
                current = nxt
        return cycles


def load_directory(path: str | Path) -> Directory:
    """Read and validate a company directory YAML file."""
    raw = Path(path).read_bytes()
    return load_directory_text(raw, str(path))


def load_directory_text(raw: str | bytes, name: str) -> Directory:
    """Validate a company directory from its YAML text (a file's, or a stored version's); `name` is where it came
    from, in messages."""
    import hashlib

    data_bytes = raw.encode("utf-8") if isinstance(raw, str) else raw
    try:
        check_bounds(data_bytes, DIRECTORY, "directory file")  # before anything is built: see approvals/bounded_yaml.py
        data = yaml.safe_load(data_bytes)
    except YamlRefused as exc:
        where = f"{name}:{exc.line}" if exc.line else name
        raise DirectoryInvalid([f"{where}: {exc.message} ({exc.hint})"]) from None
    except yaml.YAMLError as exc:
        raise DirectoryInvalid([f"{name}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise DirectoryInvalid([f"{name}: expected a mapping at the top level"])
    located = taxonomy.check_file(data_bytes, name)  # duplicate codes and parent cycles, with file:line
    if located:
        raise DirectoryInvalid(located)
    data["source_hash"] = hashlib.sha256(data_bytes).hexdigest()
    try:
        return Directory.model_validate(data)
    except DirectoryInvalid:
        raise
    except Exception as exc:  # pydantic.ValidationError: report it as a directory problem
        raise DirectoryInvalid([f"{name}: {exc}"]) from exc


def dump_directory(directory: Directory) -> str:
    """The directory as YAML text in the file's own format (load_directory_text reads it back to an equal one)."""
    data = directory.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

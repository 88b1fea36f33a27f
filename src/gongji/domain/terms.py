"""The policy of one region as in force on one day: plain values the calculation reads.

Built by ``gongji.policy`` from the region's YAML file; nothing here knows about files.
``None`` for a cap means "no cap" (a value not published is no limit beyond the balance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from gongji.domain.money import Fen, Ratio

EMPLOYEE, RESIDENT = "310", "390"
RELATIONS = ("spouse", "parent", "child", "sibling")
MED_TYPES = ("11", "14", "41")
CATEGORIES = (
    "drug", "exam", "treatment", "tcm", "prepregnancy",
    "public_health", "fitness", "cosmetic", "highend_checkup", "non_medical",
)


@dataclass(frozen=True, slots=True)
class VisitRule:
    """Matches a visit: its type, and optionally a highest institution level, a listed chronic
    disease, or an external prescription. Used for the pooled visits and the mutual-aid scope."""

    med_type: str
    max_level: int | None = None
    chronic_listed: bool = False
    external_rx: bool = False


@dataclass(frozen=True, slots=True)
class Terms:
    region: str
    name: str
    since: date  # the first day these values are in force together
    # who may bind
    relations: frozenset[str]
    holder_area: str  # admdvs prefix the main holder must be insured in
    beneficiary_area: str | None  # admdvs prefix the beneficiary must be insured in
    member_limit: int | None
    one_holder_per_beneficiary: bool
    unbind_stops_next_day: bool
    # what the pooled fund pays
    pooled_visits: tuple[VisitRule, ...]
    deductible: Mapping[str, Fen | None]  # by the patient's insutype, per visit
    pooling_ratio: Mapping[str, Mapping[int, Ratio]] | None  # insutype -> level -> ratio
    prepregnancy_ratio: Ratio | None
    # what mutual-aid may pay
    mulaid_scope: tuple[VisitRule, ...]
    out_of_scope_categories: frozenset[str]
    chronic_diseases: tuple[tuple[str, str], ...]  # ICD-10 category ranges, e.g. ("I10", "I15")
    settlement_cap: Fen | None
    annual_cap_beneficiary: Mapping[str, Fen | None]  # by the beneficiary's insutype
    chronic_extra_quota: Fen | None
    annual_cap_holder: Fen | None
    remote_filing_required: bool
    cross_province_mulaid: bool
    # sanity limits: an item or a bill above these is refused as a keying error, not settled
    max_item_amount: Fen
    max_bill_amount: Fen

    def is_chronic(self, dise_codg: str | None) -> bool:
        """Whether a diagnosis falls in a listed ICD-10 category range (``I10.x00`` in I10–I15)."""
        if not dise_codg:
            return False
        category = dise_codg[:3].upper()
        return any(lo <= category <= hi for lo, hi in self.chronic_diseases)

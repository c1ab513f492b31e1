"""Guards a concept must pass before it is stored, one module per kind.

* :mod:`.brands`: the brand and trademark blocklist;
* :mod:`.duplicates`: near-duplicates of the owner's products and the per-owner index that finds them;
* :mod:`.gates`: the score/risk gate on a niche, the daily AI budget, and the concept gate (brands, then
  duplicates).

Each check is a pure function returning ``None`` (pass) or a :class:`GuardRejection` whose ``reason`` is one
of :data:`~etsygen_common.contracts.products.RejectReason`, so the use case can publish it as is.
"""

from etsygen_common.contracts.trends import RISK_ORDER
from etsygen_generator.domain.guards.brands import (
    BrandBlocklist,
    BrandMatch,
    check_brands,
    load_starter_terms,
    parse_blocklist,
    without_brand_evidence,
)
from etsygen_generator.domain.guards.duplicates import (
    DuplicateThresholds,
    ExistingProduct,
    Fingerprint,
    NearDuplicate,
    PendingProducts,
    ProductIndex,
    check_near_duplicate,
    find_near_duplicate,
    fingerprint,
    tag_similarity,
    title_similarity,
)
from etsygen_generator.domain.guards.gates import (
    AIBudget,
    AIUsage,
    check_budget,
    check_concept,
    check_score_and_risk,
    check_trend,
)
from etsygen_generator.domain.guards.rejection import GuardRejection

__all__ = [
    "RISK_ORDER",
    "AIBudget",
    "AIUsage",
    "BrandBlocklist",
    "BrandMatch",
    "DuplicateThresholds",
    "ExistingProduct",
    "Fingerprint",
    "GuardRejection",
    "NearDuplicate",
    "PendingProducts",
    "ProductIndex",
    "check_brands",
    "check_budget",
    "check_concept",
    "check_near_duplicate",
    "check_score_and_risk",
    "check_trend",
    "find_near_duplicate",
    "fingerprint",
    "load_starter_terms",
    "parse_blocklist",
    "tag_similarity",
    "title_similarity",
    "without_brand_evidence",
]

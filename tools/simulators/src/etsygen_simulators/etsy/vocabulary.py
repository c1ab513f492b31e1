"""Words the synthetic catalogue builds titles, tags, shop names and materials from: data only."""

from __future__ import annotations

ADJECTIVES = (
    "handmade",
    "personalized",
    "custom",
    "minimalist",
    "rustic",
    "modern",
    "dainty",
    "unique",
    "cute",
    "elegant",
    "bohemian",
    "classic",
)
OCCASIONS = (
    "Gift for Her",
    "Gift for Him",
    "Birthday Gift",
    "Housewarming Gift",
    "Christmas Gift",
    "Anniversary Gift",
    "Mother's Day Gift",
    "Best Friend Gift",
    "Wedding Gift",
    "Teacher Gift",
)
GENERIC_TAGS = ("gift idea", "handmade gift", "unique gift", "custom gift", "gift for her", "gift for him")
SHOP_WORDS = (
    "Maple",
    "Willow",
    "Juniper",
    "Harbor",
    "Meadow",
    "Copper",
    "Linen",
    "Fern",
    "Cedar",
    "Clover",
    "Birch",
    "Ember",
    "Aster",
    "Sage",
    "Hazel",
    "Indigo",
)
MATERIALS_BY_TAXONOMY_PARITY = (("cotton", "wood", "brass"), ("ceramic", "linen", "silver"))

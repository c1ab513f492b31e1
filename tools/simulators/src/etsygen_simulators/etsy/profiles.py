"""The niches of the synthetic marketplace: data only (one profile per niche).

A profile says what a niche sells and how such a niche typically behaves: its search phrase and words, the
facts its listings state (materials, size or format, personalization, care or delivery, the occasions and
recipients that belong to it) and its *typical* market (demand, sellers, listings, price, rating). The market
a catalogue actually serves is drawn from these typical figures by the catalogue's seed (see ``truth``), so
another seed is another market over the same kinds of products.
"""

from __future__ import annotations

import msgspec


class KeywordProfile(msgspec.Struct, frozen=True, kw_only=True):
    """One niche of the synthetic marketplace: what it sells and its typical market."""

    keyword: str
    """The search phrase that names the niche; its listings carry its words to varying degrees."""
    taxonomy_id: int
    supply: int
    """Typical active listings in the niche (a seed's market scales it)."""
    median_price: float
    """Typical price buyers pay (USD); the centre of the niche's price acceptance."""
    price_spread: float
    """Sigma of the log-normal spread of the sellers' prices."""
    demand: float
    """Typical buyer orders per month across the niche (a seed's market scales it)."""
    rating: float
    """Typical mean star rating of the niche's reviews."""
    shops: int
    """Typical number of shops selling in the niche."""
    words: tuple[str, ...]
    """Niche vocabulary: the other phrases its titles and tags use."""
    item: str
    """What one listing is, in a few words ("leather dog collar")."""
    materials: tuple[str, ...]
    """Materials its listings name (empty for downloads)."""
    size: str
    """Size or format, as a listing states it."""
    personalization: str
    """What a buyer can personalize; empty when the niche is not personalized."""
    care: str
    """Care or delivery, as a listing states it."""
    occasions: tuple[str, ...] = ()
    """Occasions and recipients that belong to the niche (none when nothing does)."""
    digital: bool = False
    """A printable or downloadable niche (Etsy ``listing_type`` ``download``)."""


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _profile(
    keyword: str,
    taxonomy_id: int,
    market: tuple[int, float, float, float, float, int],
    words: str,
    item: str,
    materials: str,
    size: str,
    personalization: str,
    care: str,
    occasions: str = "",
    *,
    digital: bool = False,
) -> KeywordProfile:
    supply, median_price, price_spread, demand, rating, shops = market
    return KeywordProfile(
        keyword=keyword,
        taxonomy_id=taxonomy_id,
        supply=supply,
        median_price=median_price,
        price_spread=price_spread,
        demand=demand,
        rating=rating,
        shops=shops,
        words=_split(words),
        item=item,
        materials=_split(materials),
        size=size,
        personalization=personalization,
        care=care,
        occasions=_split(occasions),
        digital=digital,
    )


_SHIPS = "Made to order and shipped within 3-5 business days."
_DOWNLOAD = "Instant download after purchase; nothing is shipped."

# keyword, taxonomy, (typical listings, price, spread, orders/month, rating, shops), words, item, materials,
# size or format, personalization, care or delivery, occasions and recipients.
# fmt: off
BUILT_IN_PROFILES: tuple[KeywordProfile, ...] = (
    _profile("personalized dog collar", 1151, (18_400, 24, 0.35, 9_200, 4.8, 2_600),
             "dog collar,leather collar,name collar,puppy collar,engraved buckle,brass buckle,pet id",
             "leather dog collar", "leather,brass", "sizes XS to XL, 1 inch wide",
             "the dog's name and a phone number engraved on the buckle plate",
             f"Wipe clean with a damp cloth. {_SHIPS}", "dog lover gift"),
    _profile("minimalist gold necklace", 1218, (48_000, 38, 0.55, 12_400, 4.7, 7_400),
             "gold necklace,dainty chain,layering necklace,14k gold filled,tiny pendant,simple necklace",
             "dainty gold necklace", "14k gold filled,sterling silver", "16, 18 or 20 inch chain", "",
             f"Keep dry and store in the pouch provided. {_SHIPS}", "gift for her,birthday gift"),
    _profile("boho wall art", 1027, (35_500, 22, 0.6, 4_800, 4.6, 5_900),
             "wall decor,boho print,abstract art,neutral wall art,living room art,mid century,earth tone",
             "boho art print", "archival paper,pigment ink", "A4, A3 and 50x70 cm prints", "",
             f"Frame not included. {_SHIPS}", "housewarming gift"),
    _profile("custom pet portrait", 1029, (22_300, 55, 0.5, 10_200, 4.9, 4_100),
             "pet portrait,dog portrait,cat portrait,pet memorial,pet illustration,pet painting",
             "hand drawn pet portrait", "archival paper,pigment ink", "8x10 or 11x14 inch print",
             "drawn from your photos of your pet, with its name", f"Proof sent within 3 days. {_SHIPS}",
             "pet memorial gift,pet lover gift"),
    _profile("wedding guest book", 1279, (9_600, 45, 0.45, 3_800, 4.8, 1_700),
             "guest book,rustic wedding,wood guest book,polaroid guest book,wedding keepsake",
             "wooden wedding guest book", "wood,paper", "80 pages, 9x9 inch",
             "the couple's names and wedding date engraved on the cover",
             f"Keep away from damp. {_SHIPS}", "wedding,bride to be"),
    _profile("handmade ceramic mug", 1097, (16_200, 34, 0.3, 3_400, 4.8, 3_300),
             "ceramic mug,pottery mug,coffee cup,stoneware mug,tea mug,speckled mug,wheel thrown",
             "wheel thrown ceramic mug", "stoneware clay,food safe glaze", "holds 12 oz (350 ml)", "",
             f"Dishwasher and microwave safe. {_SHIPS}", "coffee lover gift"),
    _profile("leather wallet men", 1189, (27_400, 48, 0.5, 6_200, 4.7, 3_900),
             "mens wallet,bifold wallet,card holder,slim wallet,full grain leather,monogram wallet",
             "full grain leather bifold wallet", "full grain leather,waxed thread", "holds 6 cards and notes",
             "initials embossed on the front", f"Condition with leather balm now and then. {_SHIPS}",
             "gift for him,anniversary gift,fathers day gift"),
    _profile("baby name sign", 1033, (12_100, 40, 0.45, 7_200, 4.9, 2_100),
             "nursery decor,name sign,wood name sign,kids room decor,wall letters,nursery sign",
             "wooden baby name sign", "birch plywood,acrylic paint", "widths from 12 to 36 inch",
             "the baby's name in your choice of font and colour", f"Dust with a dry cloth. {_SHIPS}",
             "baby shower gift,new baby gift"),
    _profile("crochet pattern amigurumi", 1106, (31_200, 5.5, 0.3, 8_200, 4.8, 4_800),
             "crochet pattern,amigurumi pattern,pdf pattern,crochet toy,stuffed toy pattern,easy crochet",
             "amigurumi crochet pattern", "", "PDF pattern, 12 pages with photos, US terms", "",
             _DOWNLOAD, digital=True),
    _profile("digital planner 2026", 1137, (44_700, 8, 0.5, 11_200, 4.6, 6_200),
             "digital planner,goodnotes planner,ipad planner,hyperlinked planner,daily planner,notability",
             "hyperlinked digital planner", "", "PDF for GoodNotes and Notability, 2026 dated", "",
             _DOWNLOAD, digital=True),
    _profile("vintage brass candle holder", 1085, (6_800, 28, 0.55, 1_600, 4.7, 2_400),
             "brass candle holder,brass candlestick,vintage decor,taper holder,mid century decor,table decor",
             "vintage brass candlestick", "solid brass", "about 6 inch tall, fits standard tapers", "",
             f"Polish with a soft cloth; patina is part of its age. {_SHIPS}"),
    _profile("sourdough starter kit", 1092, (1_200, 26, 0.35, 2_400, 4.5, 310),
             "sourdough starter,dried starter,bread baking,banneton basket,heirloom starter,baking kit",
             "sourdough starter kit", "dried starter,rattan banneton,cotton liner",
             "starter, 9 inch banneton and instructions", "",
             f"Revive the starter within six months. {_SHIPS}", "baking gift"),
    _profile("axolotl plush", 1240, (2_400, 32, 0.35, 4_400, 4.8, 520),
             "axolotl,axolotl plushie,stuffed animal,kawaii plush,soft toy,pink axolotl",
             "axolotl soft toy", "minky fabric,polyester stuffing", "about 12 inch long", "",
             f"Hand wash cold. {_SHIPS}", "kids gift"),
    _profile("linen apron", 1081, (7_900, 36, 0.3, 2_800, 4.8, 1_300),
             "linen apron,kitchen apron,cross back apron,gardening apron,pinafore apron,natural linen",
             "cross back linen apron", "stonewashed linen", "one size, two front pockets", "",
             f"Machine wash warm, line dry. {_SHIPS}"),
    _profile("resin coaster set", 1079, (8_800, 27, 0.4, 2_000, 4.6, 1_900),
             "resin coaster,epoxy coaster,agate coaster,drink coaster,gold leaf coaster,coaster set",
             "agate resin coaster set", "epoxy resin,gold leaf,cork backing", "set of 4, 4 inch across", "",
             f"Wipe clean; not for hot pans. {_SHIPS}", "housewarming gift"),
    _profile("custom embroidered sweatshirt", 1181, (25_100, 42, 0.3, 13_200, 4.7, 3_200),
             "embroidered sweatshirt,crewneck sweatshirt,custom sweatshirt,name sweatshirt,mama sweatshirt",
             "embroidered crewneck sweatshirt", "cotton,polyester,embroidery thread", "unisex sizes S to 3XL",
             "names or initials embroidered on the chest or sleeve",
             f"Wash inside out, cold. {_SHIPS}", "gift for mom,mothers day gift"),
    _profile("moon phase wall hanging", 1027, (3_900, 30, 0.5, 1_800, 4.7, 900),
             "moon phase,wall hanging,celestial decor,boho decor,macrame moon,lunar decor",
             "moon phase wall hanging", "walnut wood,cotton cord", "about 30 inch wide", "",
             f"Dust gently. {_SHIPS}"),
    _profile("hand poured soy candle", 1077, (50_000, 18, 0.35, 5_600, 4.8, 8_800),
             "soy candle,scented candle,candle gift,amber jar candle,wood wick candle,aromatherapy candle",
             "hand poured soy candle", "soy wax,cotton wick,glass jar", "8 oz jar, about 50 hours", "",
             f"Trim the wick before each burn. {_SHIPS}", "gift for her,housewarming gift"),
    _profile("personalized cutting board", 1091, (14_300, 49, 0.35, 6_600, 4.9, 1_800),
             "cutting board,engraved cutting board,charcuterie board,walnut board,family name board",
             "engraved wooden cutting board", "walnut,maple", "11x17 inch, 3/4 inch thick",
             "a family name and year engraved", f"Hand wash and oil monthly. {_SHIPS}",
             "wedding gift,housewarming gift"),
    _profile("tarot card deck", 1247, (5_600, 35, 0.4, 5_200, 4.7, 1_100),
             "tarot deck,tarot cards,oracle deck,indie tarot,divination,gold edge tarot",
             "78 card tarot deck", "card stock,gold foil", "78 cards, 70x120 mm, with guidebook", "",
             f"Keep in the box provided. {_SHIPS}"),
    _profile("mushroom earrings", 1212, (4_800, 19, 0.4, 4_200, 4.8, 1_500),
             "mushroom earrings,cottagecore earrings,dangle earrings,fairycore jewelry,polymer clay earrings",
             "polymer clay mushroom earrings", "polymer clay,hypoallergenic hooks", "about 1.5 inch long", "",
             f"Keep dry. {_SHIPS}", "gift for her"),
    _profile("knitted wool beanie", 1164, (11_200, 29, 0.35, 2_200, 4.8, 2_700),
             "wool beanie,knit hat,winter hat,merino beanie,chunky knit hat,hand knit",
             "hand knit wool beanie", "merino wool", "one size fits most adults", "",
             f"Hand wash cold, dry flat. {_SHIPS}"),
    _profile("macrame plant hanger", 1086, (13_500, 21, 0.4, 1_800, 4.7, 2_900),
             "macrame,plant hanger,boho decor,cotton rope,hanging planter,indoor plant",
             "macrame plant hanger", "cotton rope,wooden ring", "about 40 inch long, pot not included", "",
             f"Hang indoors, away from damp. {_SHIPS}"),
    _profile("bridesmaid proposal box", 1283, (6_200, 39, 0.45, 4_800, 4.8, 1_200),
             "bridesmaid box,bridesmaid proposal,will you be my bridesmaid,bridal party gift,maid of honor",
             "bridesmaid proposal gift box", "kraft box,tissue paper", "box 8x8x4 inch with filler",
             "the bridesmaid's name on the card", _SHIPS, "bridesmaid gift,maid of honor"),
    _profile("custom star map print", 1028, (9_100, 31, 0.45, 7_600, 4.8, 1_600),
             "star map,night sky print,constellation map,custom print,wedding date print,star poster",
             "custom star map print", "archival paper", "8x10 to 18x24 inch, or a printable file",
             "the sky of your date and place, with a message", _SHIPS, "anniversary gift,wedding gift"),
    _profile("dnd dice set", 1242, (7_400, 27, 0.6, 3_800, 4.8, 1_400),
             "dnd dice,polyhedral dice,dungeons and dragons,rpg dice,resin dice,sharp edge dice,tabletop",
             "polyhedral dice set", "resin", "set of 7 dice", "", f"Keep out of direct sun. {_SHIPS}",
             "gamer gift"),
    _profile("stained glass suncatcher", 1084, (10_200, 44, 0.5, 3_400, 4.9, 2_300),
             "stained glass,suncatcher,window decor,glass art,rainbow maker,botanical suncatcher",
             "stained glass suncatcher", "glass,copper foil,lead free solder", "about 6 inch across", "",
             f"Wipe with glass cleaner. {_SHIPS}"),
    _profile("cat tree furniture", 1153, (900, 210, 0.45, 1_200, 4.6, 140),
             "cat tree,cat tower,modern cat tree,wood cat tree,cat furniture,scratching post",
             "modern wooden cat tree", "birch plywood,sisal rope,wool felt", "about 48 inch tall", "",
             "Ships flat packed within 2 weeks.", "cat lover gift"),
    _profile("teacher appreciation gift", 1250, (39_400, 17, 0.45, 8_400, 4.7, 6_600),
             "teacher gift,end of year gift,thank you teacher,teacher tote,classroom gift,teacher mug",
             "teacher appreciation tote bag", "cotton canvas", "15x16 inch tote",
             "the teacher's name on the front", f"Machine wash cold. {_SHIPS}",
             "teacher gift,end of year gift"),
    _profile("birth flower necklace", 1218, (21_000, 33, 0.45, 10_400, 4.8, 3_700),
             "birth flower,floral necklace,engraved necklace,birth month necklace,flower pendant",
             "engraved birth flower necklace", "sterling silver,gold filled", "16 to 20 inch chain",
             "a birth flower and initial engraved on the disc",
             f"Store dry in the pouch provided. {_SHIPS}", "birthday gift,gift for mom"),
    _profile("chunky knit blanket", 1096, (5_300, 120, 0.4, 2_600, 4.7, 800),
             "chunky blanket,knit throw,merino wool blanket,giant yarn,chunky throw,bed throw",
             "chunky knit throw blanket", "merino wool", "40x60 inch throw", "",
             "Spot clean only. Knitted to order within 7 days.", "housewarming gift"),
    _profile("svg cut files bundle", 1138, (46_200, 4, 0.5, 6_000, 4.6, 5_100),
             "svg bundle,cricut svg,cut file,silhouette cut file,png bundle,commercial use svg",
             "svg cut file bundle", "", "SVG, PNG, DXF and EPS files, 50 designs", "",
             _DOWNLOAD, digital=True),
    _profile("kids busy book", 1239, (3_100, 38, 0.35, 3_200, 4.9, 600),
             "busy book,quiet book,montessori book,toddler activity,felt book,travel toy",
             "felt busy book for toddlers", "wool felt,cotton thread", "12 pages, 8x8 inch",
             "the child's name on the cover", f"Spot clean. {_SHIPS}", "toddler gift,kids gift"),
    _profile("pressed flower frame", 1031, (4_200, 52, 0.45, 2_200, 4.9, 950),
             "pressed flower,botanical frame,wildflower frame,floating frame,real pressed flowers,herbarium",
             "pressed flower floating frame", "real pressed flowers,glass,oak frame", "8x10 inch frame", "",
             f"Keep out of direct sun. {_SHIPS}", "gift for her"),
    _profile("sterling silver stacking rings", 1214, (2_900, 29, 0.4, 5_400, 4.8, 700),
             "silver ring,stacking ring,sterling ring,thin band,dainty ring,hammered ring",
             "sterling silver stacking ring", "sterling silver", "US sizes 4 to 11, 1.5 mm band", "",
             f"Polish with a silver cloth. {_SHIPS}", "gift for her"),
    _profile("printable wedding invitation", 1280, (19_800, 12, 0.45, 5_000, 4.8, 2_900),
             "wedding invitation,invitation template,editable invitation,rsvp card,printable invite",
             "editable wedding invitation template", "", "5x7 inch template, edit in the browser",
             "your names, date and venue typed into the template", _DOWNLOAD, "wedding", digital=True),
    _profile("personalized christmas ornament", 1260, (30_600, 16, 0.4, 14_000, 4.8, 5_200),
             "christmas ornament,family ornament,name ornament,wood ornament,tree decor,keepsake ornament",
             "personalized wooden christmas ornament", "birch wood,ribbon", "3.5 inch round",
             "names and the year engraved", f"Order by December 10 for Christmas. {_SHIPS}",
             "christmas gift,first christmas"),
)
# fmt: on

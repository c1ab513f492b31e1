"""The generator's use cases: which niches get concepts and what they may spend (:mod:`.concepts`), the
generate-validate-repair loop (:mod:`.generation`), storing outcomes as products or rejections
(:mod:`.products`), publishing a product as an Etsy draft (:mod:`.publishing`), and retention
(:mod:`.retention`)."""

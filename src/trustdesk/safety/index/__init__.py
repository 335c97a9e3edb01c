"""The exact PDQ index: Hamming range search over 256-bit hashes by multi-index hashing (no ORM, no DB).

    index = PdqIndex.build("var/index/pdq", hashes, labels, watermark=seq)   # or PdqIndex.open(dir)
    index.search("f162eb9d...", radius=31)            # -> [Match(label, hash, distance), ...]
    index.search_batch(words_uint64_q_by_4, 31)       # -> Matches (arrays, grouped by query)
    index.add(hashes, labels); index.remove(hashes, labels)   # effective at once
    index = index.compact("var/index/pdq-2", watermark=seq2)   # fold the delta into a new base

Modules: ``hexcodec`` (hex <-> uint64 words), ``layout`` (chunks and probe radii), ``kernels`` (numba),
``store`` (base segment on disk), ``delta`` (rows added since), ``multi_index`` (``PdqIndex``).
"""

from trustdesk.safety.index.hexcodec import as_words, hex_to_words, words_to_hex
from trustdesk.safety.index.layout import Layout, choose_layout
from trustdesk.safety.index.multi_index import DEFAULT_RADIUS, Hit, Match, Matches, PdqIndex
from trustdesk.safety.index.store import IndexFormatError

__all__ = [
    "DEFAULT_RADIUS",
    "Hit",
    "IndexFormatError",
    "Layout",
    "Match",
    "Matches",
    "PdqIndex",
    "as_words",
    "choose_layout",
    "hex_to_words",
    "words_to_hex",
]

"""Chunk layout of the multi-index and the probe radius of each chunk (pure arithmetic, no arrays).

The 256 bits are cut into ``m`` chunks of ``widths[j]`` bits. Probing chunk ``j`` at its value and every
flip of at most ``r_j`` bits finds every row whose chunk ``j`` differs from the query's in at most ``r_j``
bits. By the generalised pigeonhole principle, if ``sum(r_j + 1) >= radius + 1`` then any row within
``radius`` of the query differs in at most ``r_j`` bits in some chunk ``j``, so the search is exact.
``radii_for`` spends those ``radius + 1`` units where they cost least (a chunk with ``r_j = -1`` is not
probed at all): at radius 31 with the 10-million layout (eight 22-bit chunks, four 20-bit chunks) the
22-bit chunks get ``r_j = 2`` and the 20-bit chunks ``r_j = 1``.
"""

from dataclasses import dataclass
from functools import cache
from itertools import combinations
from math import comb, log2

BITS = 256
MAX_WIDTH = 24  # an offsets table of 2**24 + 1 uint32 is 64 MiB
MAX_RADIUS = BITS  # any radius 0..256 is exact; large ones fall back to a linear scan
# Relative costs of the random memory reads of a lookup (measured on this machine kind): a probe reads
# its bucket bounds and the start of its row ids (two reads); a candidate reads its hash.
PROBE_COST = 2.0
CANDIDATE_COST = 1.0
# Up to this many rows, 16 chunks of 16 bits (cache-resident tables) beat the model's choice.
SMALL_N = 1 << 21
# Above this estimated share of rows touched, scanning every row in order is cheaper than probing.
SCAN_SHARE = 0.125


@dataclass(frozen=True, slots=True)
class Layout:
    """The chunks of a multi-index: chunk ``j`` is bits ``[starts[j], starts[j] + widths[j])``."""

    widths: tuple[int, ...]

    def __post_init__(self) -> None:
        if sum(self.widths) != BITS or not self.widths or not all(1 <= w <= MAX_WIDTH for w in self.widths):
            raise ValueError(
                f"chunk widths must be 1..{MAX_WIDTH} bits each and sum to {BITS}: {self.widths}"
            )

    @property
    def starts(self) -> tuple[int, ...]:
        """First bit of each chunk."""
        out, at = [], 0
        for w in self.widths:
            out.append(at)
            at += w
        return tuple(out)

    @property
    def offset_lengths(self) -> tuple[int, ...]:
        """Length of each chunk's offsets table (``2**width + 1``)."""
        return tuple((1 << w) + 1 for w in self.widths)

    def table_bytes(self, n: int) -> int:
        """Bytes of the offsets tables and row-id arrays (chunk 0 needs no ids: the base is sorted by it)."""
        return 4 * sum(self.offset_lengths) + 4 * n * (len(self.widths) - 1)

    def radii_for(self, radius: int, n: int) -> tuple[int, ...]:
        """Per-chunk probe radii (``-1`` = not probed) that make a search at ``radius`` exact."""
        return _radii(self.widths, radius, max(n, 1))

    def estimated_reads(self, radii: tuple[int, ...], n: int) -> float:
        """Expected random reads of one lookup on uniformly random hashes."""
        total = 0.0
        for w, r in zip(self.widths, radii, strict=True):
            probes = sum(comb(w, k) for k in range(min(r, w) + 1))
            total += probes * (PROBE_COST + CANDIDATE_COST * n / (1 << w))
        return total

    def should_scan(self, radius: int, n: int) -> bool:
        """Whether a linear scan of all rows beats probing at this radius."""
        return self.estimated_reads(self.radii_for(radius, n), n) > SCAN_SHARE * n + 1024


@cache
def _radii(widths: tuple[int, ...], radius: int, n: int) -> tuple[int, ...]:
    if not 0 <= radius <= MAX_RADIUS:
        raise ValueError(f"radius must be in 0..{MAX_RADIUS}, got {radius}")
    radii = [-1] * len(widths)
    # greedy on convex marginal costs (comb(w, k) grows with k for k <= w / 2): optimal allocation
    for _ in range(radius + 1):
        best, best_cost = -1, 0.0
        for j, w in enumerate(widths):
            k = radii[j] + 1
            if k > w:
                continue
            cost = comb(w, k) * (PROBE_COST + CANDIDATE_COST * n / (1 << w))
            if best < 0 or cost < best_cost:
                best, best_cost = j, cost
        if best < 0:  # every bit of every chunk is flipped: the whole space is probed
            break
        radii[best] += 1
    return tuple(radii)


def choose_layout(n: int, budget_bytes: int | None = None) -> Layout:
    """The cheapest layout at radius 31 whose tables fit the budget.

    The default budget keeps the whole index (hashes, labels, tables) within 3x the raw 32 bytes per hash
    (at least 256 MiB, since offsets tables do not shrink with ``n``). Candidates are layouts of 8 to 24
    chunks with at most two distinct widths.
    """
    n = max(n, 1)
    if budget_bytes is None:
        budget_bytes = max(3 * 32 * n, 256 << 20) - 36 * n - (n + 7) // 8
    sixteen = Layout((16,) * 16)
    if n <= SMALL_N and sixteen.table_bytes(n) <= budget_bytes:
        # small tables stay in cache, which the read-count model ignores: measured at 1 M here, 16 x 16
        # gave 12.6 k lookups/s against 10.5 k for the model's pick and 8.9 k for the 10 M layout
        return sixteen
    best: Layout | None = None
    best_cost = 0.0
    for m in range(8, 25):
        for wide in range(BITS // m, min(BITS // m + 3, MAX_WIDTH) + 1):
            for count_wide in range(m + 1):
                rest = BITS - wide * count_wide
                if m == count_wide:
                    if rest != 0:
                        continue
                    widths = (wide,) * m
                else:
                    narrow, extra = divmod(rest, m - count_wide)
                    if extra or not 1 <= narrow <= wide:
                        continue
                    widths = (wide,) * count_wide + (narrow,) * (m - count_wide)
                layout = Layout(widths)
                if layout.table_bytes(n) > budget_bytes:
                    continue
                cost = layout.estimated_reads(layout.radii_for(31, n), n)
                if best is None or cost < best_cost:
                    best, best_cost = layout, cost
    if best is None:  # tiny budgets: 16 chunks of 16 bits always works
        return Layout((16,) * 16)
    return best


def describe(layout: Layout, n: int, radius: int = 31) -> str:
    """One line for logs and the benchmark: widths, radii and expected reads."""
    radii = layout.radii_for(radius, n)
    return (
        f"{len(layout.widths)} chunks {layout.widths} radii {radii} "
        f"~{layout.estimated_reads(radii, n):.0f} reads/lookup at n={n} (log2 n = {log2(n):.1f})"
    )


def flip_masks(widths: tuple[int, ...], radii: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """Every mask of at most ``radii[j]`` set bits within chunk ``j``'s width, chunk after chunk.

    Returns ``(masks, bounds)``: chunk ``j``'s masks are ``masks[bounds[j]:bounds[j + 1]]``, the
    empty mask (the exact probe) first.
    """
    masks: list[int] = []
    bounds = [0]
    for w, r in zip(widths, radii, strict=True):
        for k in range(min(r, w) + 1):
            masks.extend(sum(1 << b for b in bits) for bits in combinations(range(w), k))
        bounds.append(len(masks))
    return masks, bounds

"""Media hashing: PDQ (with dihedral variants), MD5 and SHA-256 for images; vPDQ for videos.

``pdq`` holds the pure hash arithmetic (hex, distances; hex to uint64 words is `safety.index.hexcodec`);
``image`` hashes images with ``pdqhash``; ``video`` hashes videos with the optional ``vpdq`` and decides
video matches.
"""

from trustdesk.safety.hashing.image import DIHEDRAL, ImageHashes, hash_image, hash_image_file
from trustdesk.safety.hashing.pdq import (
    PDQ_MATCH_DISTANCE,
    PDQ_MIN_QUALITY,
    distance,
    normalize_hex,
)
from trustdesk.safety.hashing.video import (
    VideoFrame,
    VideoHashes,
    VideoHashingUnavailable,
    VideoMatch,
    compare_videos,
    hash_video,
    hash_video_file,
    match_video,
    video_hashing_available,
)

__all__ = [
    "DIHEDRAL",
    "PDQ_MATCH_DISTANCE",
    "PDQ_MIN_QUALITY",
    "ImageHashes",
    "VideoFrame",
    "VideoHashes",
    "VideoHashingUnavailable",
    "VideoMatch",
    "compare_videos",
    "distance",
    "hash_image",
    "hash_image_file",
    "hash_video",
    "hash_video_file",
    "match_video",
    "normalize_hex",
    "video_hashing_available",
]

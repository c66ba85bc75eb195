"""Where an area lies, in words: bearing and distance from the pole, or image quadrant."""

from __future__ import annotations

import math

from .geometry import bearing_distance, compass

_QUADRANT = {("upper", "left"): "上部左侧", ("upper", "right"): "上部右侧",
             ("lower", "left"): "下部左侧", ("lower", "right"): "下部右侧"}
_COMPASS_ZH = {"N": "北", "NE": "东北", "E": "东", "SE": "东南", "S": "南", "SW": "西南", "W": "西",
               "NW": "西北"}


def describe(east: float | None, north: float | None, col: float | None,
             row: float | None) -> dict[str, object]:
    """Location of an area's centroid for messages.

    Parameters
    ----------
    east, north : float or None
        Centroid east and north of the pole [m] (None without camera geometry).
    col, row : float or None
        Centroid as fractions of the image width (from the left) and height (from the top).

    Returns
    -------
    dict
        ``where`` and ``where_zh`` (phrases), and ``bearing_deg``/``distance_m`` or
        ``quadrant`` (empty phrases when nothing is known).
    """
    if east is not None and north is not None and math.isfinite(east) and math.isfinite(north):
        b, d = bearing_distance(east, north)
        c = compass(b)
        return {"bearing_deg": round(b, 1), "distance_m": round(d, 1), "compass": c,
                "where": f"centred {d:.0f} m {c} of the pole (bearing {b:.0f}°)",
                "where_zh": f"中心位于监测杆{_COMPASS_ZH[c]}方向 {d:.0f} 米（方位角 {b:.0f}°）"}
    if col is not None and row is not None and math.isfinite(col) and math.isfinite(row):
        q = ("upper" if row < 0.5 else "lower", "left" if col < 0.5 else "right")
        return {"quadrant": "-".join(q), "where": f"in the {q[0]} {q[1]} quarter of the image",
                "where_zh": f"位于图像{_QUADRANT[q]}"}
    return {"where": "", "where_zh": ""}

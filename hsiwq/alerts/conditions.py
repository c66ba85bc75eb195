"""Rule conditions: what each kind of rule makes of one stored record (or of the clock).

Water-quality conditions return "no information" for rejected acquisitions and for values
that are missing, not finite or flagged out of the model's domain (``<param>_ood`` = 1), so
those never raise, hold or clear a water-quality alert. Data-quality conditions (gaps,
sensor faults) look at the acquisitions themselves.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from ..params import PARAMETERS
from ..store import Record
from .classes import (GB3838_CLASSES, TLI_BOUNDS, TLI_CLASSES, class_number, daylight_minutes,
                      gb3838_class, gb3838_limits, tli, tli_class)
from .engine import NOTIFIED, AlertState, Observation, Transition, step
from .rules import (ExtentRule, Gb3838Rule, GapRule, RateRule, SensorRule, ThresholdRule, TliRule,
                    WhoCyanoRule)

NO_INFO = Observation(None)


def accepted(record: Record) -> bool:
    """Whether the acquisition passed QC."""
    return record.labels.get("verdict") == "accepted"


def water_value(record: Record, param: str) -> float | None:
    """A parameter's value fit for water-quality rules, or None (rejected, missing, NaN,
    out of domain)."""
    if not accepted(record):
        return None
    v = _finite(record.values.get(param))
    ood = _finite(record.values.get(f"{param}_ood"))
    if v is None or (ood is not None and ood >= 0.5):
        return None
    return v


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def level_of(value: float, thresholds: list[float], clears: list[float], current: int,
             above: bool = True) -> int:
    """Level reached by a value, with hysteresis.

    Level k (1-based) is reached beyond ``thresholds[k-1]``; a level already held is kept
    until the value is back at or past ``clears[k-1]``.
    """
    def beyond(v: float, t: float) -> bool:
        return v > t if above else v < t

    lvl = max((k for k, t in enumerate(thresholds, 1) if beyond(value, t)), default=0)
    for k in range(current, lvl, -1):
        if beyond(value, clears[k - 1]):
            return k
    return lvl


def _current(state: AlertState) -> int:
    return state.level if state.status == "firing" else 0


def threshold_observation(rule: ThresholdRule, state: AlertState, value: float | None) -> Observation:
    """Threshold rule on one value (None: no information)."""
    v = _finite(value)
    if v is None:
        return NO_INFO
    above = rule.above is not None
    thr = float(rule.above if above else rule.below)  # type: ignore[arg-type]
    clr = float(rule.clear) if rule.clear is not None else thr
    return Observation(level_of(v, [thr], [clr], _current(state), above), v, rule.param, thr, clr)


def evaluate_threshold(rule: Any, state: AlertState, value: float | None, time: datetime,
                       site: str) -> tuple[AlertState, Transition | None]:
    """Advance a threshold rule by one value (None/NaN: no information); kept for callers
    that hold a bare value rather than a record."""
    if state.last_time is not None and time <= datetime.fromisoformat(state.last_time):
        return state, None
    obs = threshold_observation(rule, state, value)
    new, trs = step(rule, state, obs, time, site)
    notified = [t for t in trs if t.change in NOTIFIED]
    return new, (notified[0] if notified else None)


def who_observation(rule: WhoCyanoRule, state: AlertState, record: Record) -> Observation:
    v = water_value(record, rule.param)
    if v is None:
        return NO_INFO
    thr = [lv[0] for lv in rule.levels]
    clr = [t * rule.clear_ratio for t in thr]
    lvl = level_of(v, thr, clr, _current(state))
    k = max(lvl, 1)
    return Observation(lvl, v, rule.param, thr[k - 1], clr[k - 1], rule.level_name(k),
                       {"guideline": rule.guideline, "level_name_zh": rule.level_name(k, "zh")})


def gb3838_observation(rule: Gb3838Rule, state: AlertState, record: Record, waterbody: str) -> Observation:
    target = class_number(rule.target or "III")
    held = state.memory.get("levels", {}) if state.status == "firing" else {}
    levels: dict[str, int] = {}
    seen: dict[str, tuple[float, int, float]] = {}  # value, class, ratio to target limit
    for p in rule.params:
        limits = gb3838_limits(p, waterbody)
        if limits is None:
            continue
        v = water_value(record, p)
        if v is None:
            if p in held:
                levels[p] = held[p]
            continue
        thr = list(limits[target - 1:])
        levels[p] = level_of(v, thr, [t * rule.clear_ratio for t in thr], held.get(p, 0))
        seen[p] = (v, gb3838_class(v, limits), v / limits[target - 1])
    if not seen:
        return NO_INFO
    level = max(levels.values(), default=0)
    worst = max(seen, key=lambda p: (levels.get(p, 0), seen[p][2]))
    limits = gb3838_limits(worst, waterbody)
    assert limits is not None
    k = max(levels.get(worst, 0), 1)
    thr_w = limits[target - 1 + k - 1]
    detail = {"target": rule.target, "waterbody": waterbody,
              "classes": {p: GB3838_CLASSES[c] for p, (_, c, _) in seen.items()},
              "values": {p: round(v, 4) for p, (v, _, _) in seen.items()},
              "exceeding": sorted(p for p, lv in levels.items() if lv > 0),
              "class": GB3838_CLASSES[target + level] if level else GB3838_CLASSES[seen[worst][1]]}
    return Observation(level, seen[worst][0], worst, thr_w, thr_w * rule.clear_ratio,
                       rule.level_name(max(level, 1)), detail, {"levels": levels})


def tli_observation(rule: TliRule, state: AlertState, record: Record) -> Observation:
    values = {p: water_value(record, p) for p in rule.params}
    t, comps = tli({p: v for p, v in values.items() if v is not None})
    if not math.isfinite(t):
        return NO_INFO
    thr = list(TLI_BOUNDS[rule.base_class - 1:])
    clr = [b - rule.hysteresis for b in thr]
    lvl = level_of(t, thr, clr, _current(state))
    k = max(lvl, 1)
    detail = {"tli": round(t, 2), "class": TLI_CLASSES[tli_class(t)], "worse_than": rule.worse_than,
              "components": {p: round(c, 2) for p, c in comps.items()}}
    return Observation(lvl, t, None, thr[k - 1], clr[k - 1], rule.level_name(k), detail)


def rate_observation(rule: RateRule, state: AlertState, record: Record) -> Observation:
    v = water_value(record, rule.param)
    if v is None:
        return NO_INFO
    t = record.time.timestamp()
    window = rule.window_minutes * 60.0
    samples = [(ts, x) for ts, x in state.memory.get("samples", []) if t - window <= ts < t]
    memory = {"samples": samples + [(t, v)]}
    floor = max(PARAMETERS[rule.param].valid_range[0], 1e-9)
    firing = state.status == "firing"
    factor = (rule.clear_factor or rule.factor) if firing else rule.factor
    delta = (rule.clear_delta or rule.delta) if firing else rule.delta
    best: tuple[float, dict[str, Any]] | None = None
    detail: dict[str, Any] = {"window_minutes": rule.window_minutes}
    for direction in (("rise", "fall") if rule.direction == "both" else (rule.direction,)):
        if not samples:
            break
        pick = min if direction == "rise" else max
        base_t, base = pick(samples, key=lambda s: s[1])
        ratio = v / max(base, floor) if direction == "rise" else base / max(v, floor)
        change = v - base if direction == "rise" else base - v
        size = ratio if factor is not None else change
        info = {"direction": direction, "ratio": round(ratio, 3), "change": round(change, 4),
                "base": round(base, 4), "base_time": _iso(base_t), "window_minutes": rule.window_minutes}
        if best is None and direction in (rule.direction, "rise"):
            detail = info
        met = size >= (factor if factor is not None else delta) and max(v, base) >= rule.min_value  # type: ignore[operator]
        if met and (best is None or size > best[0]):
            best = (size, info)
    level = 1 if best is not None else 0
    if best is not None:
        detail = best[1]
    thr = rule.factor if rule.factor is not None else rule.delta
    clr = (rule.clear_factor or rule.factor) if rule.factor is not None else (rule.clear_delta or rule.delta)
    return Observation(level, v, rule.param, thr, clr, "", detail, memory)


def extent_observation(rule: ExtentRule, state: AlertState, record: Record) -> Observation:
    """Exceeded area (or fraction) of the acquisition's maps, with where it lies."""
    from ..maps.settings import MAX_THRESHOLDS
    from ..maps.where import describe

    if not accepted(record):
        return NO_INFO
    for k in range(1, MAX_THRESHOLDS + 1):
        pre = f"{rule.param}_above{k}_"
        thr = _finite(record.values.get(pre + "threshold"))  # stored as float32
        if thr is not None and abs(thr - rule.threshold) <= 1e-6 * max(1.0, abs(rule.threshold)):
            break
    else:
        return NO_INFO
    got = {w: _finite(record.values.get(pre + w)) for w in ("area", "fraction", "east", "north", "col", "row")}
    v = got[rule.measure]
    if v is None:
        return NO_INFO
    clr = float(rule.clear) if rule.clear is not None else rule.limit
    detail = {"measure": rule.measure, "above": rule.threshold, "area_m2": got["area"],
              "fraction": got["fraction"], **describe(got["east"], got["north"], got["col"], got["row"])}
    return Observation(level_of(v, [rule.limit], [clr], _current(state)), v, rule.param, rule.limit,
                       clr, "", detail)


def gap_observation(rule: GapRule, state: AlertState, lat: float, lon: float, when: datetime,
                    record: Record | None = None) -> Observation:
    """Data gap at ``when`` (a record's time, or the clock); an accepted record ends it."""
    mem = dict(state.memory)
    t = when.timestamp()
    mem["ref"] = max(t, mem.get("ref", t))
    mem.setdefault("watch_since", t)
    if record is not None and accepted(record):
        mem["last_valid"] = max(t, mem.get("last_valid", t))
    start = mem.get("last_valid", mem["watch_since"])
    wall = max(mem["ref"] - start, 0.0) / 60.0
    gap = (daylight_minutes(start, mem["ref"], lat, lon, rule.max_sun_zenith_deg)
           if rule.daylight_only else wall)
    detail = {"gap_minutes": round(gap, 1), "wall_minutes": round(wall, 1),
              "last_valid": _iso(mem["last_valid"]) if "last_valid" in mem else None,
              "daylight_only": rule.daylight_only}
    return Observation(1 if gap >= rule.minutes else 0, gap, None, rule.minutes, rule.minutes,
                       "", detail, mem)


def sensor_observation(rule: SensorRule, state: AlertState, record: Record) -> Observation:
    verdict = record.labels.get("verdict")
    reason = str(record.labels.get("reason") or "")
    detail = {"fault": rule.fault, "reason": reason, "verdict": verdict}
    q = rule.watched_quantity
    if q is not None and rule.fault == "saturation" and "saturat" in reason.lower():
        return Observation(1, _finite(record.values.get(q)), None, rule.limit, rule.clear, "", detail)
    if q is not None:  # a measured quantity against a limit (dark drift, saturated pixels)
        v = _finite(record.values.get(q))
        if v is None:
            return NO_INFO
        limit = float(rule.limit)  # type: ignore[arg-type]
        clear = rule.clear if rule.clear is not None else limit
        size = abs(v) if rule.fault == "dark_drift" else v
        lvl = level_of(size, [limit], [clear], _current(state))
        return Observation(lvl, v, None, limit, clear, "", {**detail, "quantity": q})
    if verdict not in ("accepted", "rejected"):
        return NO_INFO
    if rule.fault == "rejects":
        if verdict == "accepted":
            return Observation(0, None, None, None, None, "", detail)
        if any(reason.lower().startswith(r.lower()) for r in rule.ignore_reasons):
            return NO_INFO
        return Observation(1, None, None, None, None, "", detail)
    if rule.fault == "saturation":
        return Observation(1 if "saturat" in reason.lower() else 0, None, None, None, None, "", detail)
    # out_of_domain
    assert rule.param is not None
    ood = _finite(record.values.get(f"{rule.param}_ood"))
    if verdict != "accepted" or ood is None:
        return NO_INFO
    return Observation(1 if ood >= 0.5 else 0, _finite(record.values.get(rule.param)), rule.param,
                       None, None, "", detail)


def observe(rule: Any, state: AlertState, record: Record, waterbody: str, lat: float,
            lon: float) -> Observation:
    """The observation of any rule on one stored record."""
    if isinstance(rule, ThresholdRule):
        return threshold_observation(rule, state, water_value(record, rule.param))
    if isinstance(rule, WhoCyanoRule):
        return who_observation(rule, state, record)
    if isinstance(rule, Gb3838Rule):
        return gb3838_observation(rule, state, record, waterbody)
    if isinstance(rule, TliRule):
        return tli_observation(rule, state, record)
    if isinstance(rule, RateRule):
        return rate_observation(rule, state, record)
    if isinstance(rule, ExtentRule):
        return extent_observation(rule, state, record)
    if isinstance(rule, GapRule):
        return gap_observation(rule, state, lat, lon, record.time, record)
    if isinstance(rule, SensorRule):
        return sensor_observation(rule, state, record)
    raise TypeError(f"unknown rule {rule!r}")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat()

"""Alert rules and lifecycle: thresholds with hysteresis, WHO levels, GB 3838 classes, TLI,
rate of change, data gaps and sensor faults; out-of-domain and rejected data."""

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from hsiwq.alerts.classes import (daylight_minutes, gb3838_class, gb3838_limits, sun_zenith_deg, tli,
                                  tli_class)
from hsiwq.alerts.conditions import evaluate_threshold, level_of, observe
from hsiwq.alerts.engine import AlertState, step
from hsiwq.config import Site, ThresholdRule
from hsiwq.radiometry.sun import solar_position
from hsiwq.store import Record

T0 = datetime(2026, 7, 21, 2, 0, tzinfo=timezone.utc)  # 10:00 in Taihu


def run(rule, values):
    state, out = AlertState(), []
    for i, v in enumerate(values):
        state, tr = evaluate_threshold(rule, state, v, T0 + timedelta(minutes=i), "s")
        out.append(tr.status if tr else None)
    return state, out


def test_fires_once_and_resolves_with_hysteresis():
    rule = ThresholdRule(param="chl_a", above=50, clear=40)
    state, out = run(rule, [10, 55, 60, 45, 52, 39, 45])
    assert out == [None, "firing", None, None, None, "resolved", None]
    assert state.status == "resolved"


def test_for_count_needs_consecutive_values():
    rule = ThresholdRule(param="chl_a", above=50, for_count=3)
    _, out = run(rule, [60, 60, 10, 60, 60, 60])
    assert out == [None, None, None, None, None, "firing"]


def test_rejected_or_nan_values_change_nothing():
    rule = ThresholdRule(param="chl_a", above=50)
    _, out = run(rule, [None, float("nan"), 60, None, float("nan")])
    assert out == [None, None, "firing", None, None]


def test_below_rule():
    rule = ThresholdRule(param="secchi", below=0.5, clear=0.7)
    _, out = run(rule, [1.0, 0.4, 0.6, 0.8])
    assert out == [None, "firing", None, "resolved"]


def test_late_or_repeated_acquisitions_do_not_move_the_state():
    rule = ThresholdRule(param="chl_a", above=50, clear=40)
    state, tr = evaluate_threshold(rule, AlertState(), 80.0, T0, "s")
    assert tr.status == "firing"
    state2, tr2 = evaluate_threshold(rule, state, 10.0, T0 - timedelta(minutes=5), "s")
    assert tr2 is None and state2 == state
    state3, tr3 = evaluate_threshold(rule, state, 10.0, T0, "s")
    assert tr3 is None and state3.status == "firing"


def test_level_of_holds_a_level_until_its_clear_level():
    thr, clr = [12.0, 24.0], [9.6, 19.2]
    assert level_of(30, thr, clr, 0) == 2
    assert level_of(20, thr, clr, 2) == 2   # above 19.2: keeps level 2
    assert level_of(19, thr, clr, 2) == 1
    assert level_of(10, thr, clr, 1) == 1
    assert level_of(9, thr, clr, 2) == 0


# --- helpers over records --------------------------------------------------------------------
def site_with(*rules, **kw):
    return Site.model_validate({"id": "taihu", "lat": 31.4, "lon": 120.18, "timezone": "Asia/Shanghai",
                                "rules": list(rules), **kw})


def rec(minutes, verdict="accepted", reason="", **values):
    vals = {}
    for k, v in values.items():
        vals[k] = v
        vals.setdefault(f"{k}_ood", 0.0)
    return Record(T0 + timedelta(minutes=minutes), vals, {"verdict": verdict, "reason": reason})


def drive(site, records):
    """Feed records to the site's first rule; returns the changes and the final state."""
    rule, state, changes = site.rules[0], AlertState(), []
    for r in records:
        obs = observe(rule, state, r, site.waterbody, site.lat, site.lon)
        state, trs = step(rule, state, obs, r.time, site.id)
        changes += [(t.change, t.level) for t in trs if t.change not in ("pending", "cleared")]
    return changes, state


def test_out_of_domain_values_never_raise_or_clear_water_alerts():
    site = site_with({"param": "chl_a", "above": 50, "clear": 40})
    ood = rec(0, chl_a=300.0)
    ood.values["chl_a_ood"] = 1.0
    low_ood = rec(30, chl_a=5.0)
    low_ood.values["chl_a_ood"] = 1.0
    changes, state = drive(site, [ood, rec(10, chl_a=20.0), rec(20, chl_a=80.0), low_ood,
                                  rec(40, "rejected", "cloud", chl_a=1.0), rec(50, chl_a=60.0)])
    assert changes == [("firing", 1)] and state.status == "firing"


def test_who_preset_escalates_and_deescalates():
    site = site_with({"kind": "who_cyano", "guideline": "recreational-2021"})
    rule = site.rules[0]
    assert rule.rule_id == "who-recreational-2021" and rule.severity_for(2) == "critical"
    changes, state = drive(site, [rec(i * 10, chl_a=v) for i, v in enumerate([5, 15, 30, 22, 18, 8])])
    assert changes == [("firing", 1), ("escalated", 2), ("deescalated", 1), ("resolved", 0)]
    assert rule.level_name(2) == "WHO alert level 2" and rule.level_name(2, "zh") == "WHO二级预警"


def test_gb3838_classes_and_limits():
    assert gb3838_class(0.03, gb3838_limits("tp", "lake")) == 3   # lakes: 0.025 < 0.03 ≤ 0.05 (III)
    assert gb3838_class(0.06, gb3838_limits("tp", "lake")) == 4
    assert gb3838_class(0.03, gb3838_limits("tp", "river")) == 2  # rivers: 0.02 < 0.03 ≤ 0.1 (II)
    assert gb3838_limits("tn", "river") is None                   # TN: lakes and reservoirs only
    assert gb3838_class(16, gb3838_limits("cod", "lake")) == 3    # I and II share 15 mg/L
    assert gb3838_class(2.5, gb3838_limits("nh3_n", "lake")) == 6  # worse than V


def test_gb3838_rule_uses_site_target_and_escalates_by_class():
    site = site_with({"kind": "gb3838", "params": ["tp"], "clear_ratio": 0.9}, target_class="III")
    rule = site.rules[0]
    assert rule.target == "III" and rule.rule_id == "gb3838-III"
    tps = [0.04, 0.06, 0.12, 0.095, 0.085, 0.046, 0.044]  # III, IV, V, (V held), IV, (IV held), III
    changes, _ = drive(site, [rec(i * 10, tp=v) for i, v in enumerate(tps)])
    assert changes == [("firing", 1), ("escalated", 2), ("deescalated", 1), ("resolved", 0)]
    assert rule.level_name(2) == "V" and rule.level_name(3) == "worse than V"


def test_gb3838_needs_a_target():
    with pytest.raises(ValueError, match="target_class"):
        site_with({"kind": "gb3838"})


def test_tli_matches_the_formula_and_classes():
    t, comps = tli({"chl_a": 10.0})
    assert t == pytest.approx(10 * (2.5 + 1.086 * math.log(10.0)))
    full, comps = tli({"chl_a": 20.0, "tp": 0.1, "tn": 2.0, "secchi": 0.5, "cod_mn": 5.0})
    w = np.array([1, 0.84, 0.82, 0.83, 0.83]) ** 2
    ref = [10 * (2.5 + 1.086 * math.log(20)), 10 * (9.436 + 1.624 * math.log(0.1)),
           10 * (5.453 + 1.694 * math.log(2.0)), 10 * (5.118 - 1.94 * math.log(0.5)),
           10 * (0.109 + 2.661 * math.log(5.0))]
    assert full == pytest.approx(float(np.dot(w / w.sum(), ref)))
    assert [tli_class(x) for x in (29, 30, 50, 50.1, 60.5, 75)] == [1, 2, 2, 3, 4, 5]


def test_tli_rule_fires_beyond_mesotrophic():
    site = site_with({"kind": "tli", "worse_than": "mesotrophic", "hysteresis": 2})
    vals = [dict(chl_a=3.0, tp=0.02), dict(chl_a=60.0, tp=0.2), dict(chl_a=12.0, tp=0.05),
            dict(chl_a=2.0, tp=0.01)]
    changes, state = drive(site, [rec(i * 10, **v) for i, v in enumerate(vals)])
    assert changes[0][0] == "firing" and changes[-1] == ("resolved", 0)


def test_rate_rule_fires_on_a_tenfold_rise_in_half_an_hour():
    site = site_with({"kind": "rate", "param": "chl_a", "factor": 10, "window_minutes": 30,
                      "min_value": 20})
    quick = [8, 9, 30, 95, 100, 105, 110, 112]  # ×10 within 30 min, then steady
    changes, state = drive(site, [rec(i * 10, chl_a=v) for i, v in enumerate(quick)])
    assert changes == [("firing", 1), ("resolved", 0)]
    slow = [8, 12, 18, 27, 40, 60, 90]  # ×1.5 per 10 min: never ×10 within 30 min
    assert drive(site, [rec(i * 10, chl_a=v) for i, v in enumerate(slow)])[0] == []
    tiny = [0.2, 0.3, 2.5]  # tenfold, but below min_value
    assert drive(site, [rec(i * 10, chl_a=v) for i, v in enumerate(tiny)])[0] == []


def test_daylight_clock_matches_spa():
    for h in range(0, 24, 2):
        t = T0.replace(hour=h)
        assert float(sun_zenith_deg(np.array([t.timestamp()]), 31.4, 120.18)[0]) == pytest.approx(
            solar_position(t, 31.4, 120.18)[0], abs=0.6)
    night = datetime(2026, 7, 21, 14, 0, tzinfo=timezone.utc).timestamp()  # 22:00 local
    assert daylight_minutes(night, night + 4 * 3600, 31.4, 120.18, 70) == 0


def test_sensor_rejects_ignore_night_and_count_consecutive():
    site = site_with({"kind": "sensor", "fault": "rejects", "for_count": 3})
    recs = [rec(0, "rejected", "cloud: Li/Ed"), rec(10, "rejected", "night: sun zenith 120°"),
            rec(20, "rejected", "saturated sky counts"), rec(30, "rejected", "Ed too low"),
            rec(40, "accepted", chl_a=10.0)]
    assert drive(site, recs)[0] == [("firing", 1), ("resolved", 0)]


def test_sensor_saturation_dark_drift_and_out_of_domain():
    sat = site_with({"kind": "sensor", "fault": "saturation", "for_count": 2})
    recs = [rec(i * 10, "rejected", "saturated sky and irradiance counts") for i in range(2)]
    assert drive(sat, recs + [rec(30, chl_a=5.0)])[0] == [("firing", 1), ("resolved", 0)]
    dark = site_with({"kind": "sensor", "fault": "dark_drift", "limit": 20, "clear": 10, "for_count": 1})
    recs = [Record(T0 + timedelta(minutes=i), {"dark_drift_dn": v}, {"verdict": "accepted"})
            for i, v in enumerate([3, -25, 15, 8])]
    assert drive(dark, recs)[0] == [("firing", 1), ("resolved", 0)]
    ood = site_with({"kind": "sensor", "fault": "out_of_domain", "param": "chl_a", "for_count": 2})
    recs = [rec(i, chl_a=400.0) for i in range(3)]
    for r in recs:
        r.values["chl_a_ood"] = 1.0
    assert drive(ood, recs + [rec(5, chl_a=10.0)])[0] == [("firing", 1), ("resolved", 0)]


def test_saturated_pixels_count_or_saturated_reason():
    site = site_with({"kind": "sensor", "fault": "saturation", "quantity": "n_saturated", "limit": 50,
                      "clear": 10, "for_count": 2})
    recs = [Record(T0 + timedelta(minutes=i), {"n_saturated": v}, {"verdict": "accepted"})
            for i, v in enumerate([0, 80, 120, 30, 5])]
    assert drive(site, recs)[0] == [("firing", 1), ("resolved", 0)]
    recs = [Record(T0 + timedelta(minutes=i), {}, {"verdict": "rejected", "reason": "saturated sky counts"})
            for i in range(2)]
    assert drive(site, recs)[0] == [("firing", 1)]


@pytest.mark.parametrize("rule,series,en,zh", [
    ({"kind": "who_cyano"}, [dict(chl_a=30.0), dict(chl_a=5.0)],
     "chlorophyll-a 30.0 µg/L reached WHO alert level 2 (24 µg/L, recreational-2021)", "达到WHO二级预警"),
    ({"kind": "gb3838", "params": ["tp", "nh3_n"]}, [dict(tp=0.15, nh3_n=0.2), dict(tp=0.03, nh3_n=0.2)],
     "total phosphorus 0.15 mg/L is Class V (GB 3838-2002), worse than target Class III (limit 0.1 mg/L); "
     "estimated from optical covariance, lower confidence", "为GB 3838-2002 Ⅴ类，劣于目标Ⅲ类"),
    ({"kind": "tli"}, [dict(chl_a=80.0, tp=0.2), dict(chl_a=2.0, tp=0.01)],
     "trophic level index TLI(Σ)", "综合营养状态指数 TLI(Σ)"),
    ({"kind": "rate", "param": "chl_a", "factor": 5, "window_minutes": 30},
     [dict(chl_a=10.0), dict(chl_a=60.0), dict(chl_a=61.0), dict(chl_a=60.0), dict(chl_a=62.0)],
     "chlorophyll-a rose ×6 within 30 min (10.0 → 60.0 µg/L)", "30 分钟内上升 6 倍"),
    ({"kind": "sensor", "fault": "rejects", "for_count": 2}, ["rej", "rej", dict(chl_a=5.0)],
     "sensor fault: 2 consecutive rejected acquisitions (last reason: Ed too low)", "连续 2 次采集被拒收"),
])
def test_messages_of_every_kind_in_both_languages(rule, series, en, zh):
    from hsiwq.alerts.messages import headline

    site = site_with(rule, target_class="III")
    r, state, trs = site.rules[0], AlertState(), []
    for i, v in enumerate(series):
        rec_ = rec(i * 10, "rejected", "Ed too low") if v == "rej" else rec(i * 10, **v)
        obs = observe(r, state, rec_, site.waterbody, site.lat, site.lon)
        state, new = step(r, state, obs, rec_.time, site.id)
        trs += [t for t in new if t.change in ("firing", "resolved")]
    assert [t.change for t in trs] == ["firing", "resolved"]
    assert en in headline(trs[0], "en", "taihu", "Asia/Shanghai")
    assert zh in headline(trs[0], "zh", "太湖", "Asia/Shanghai")
    for lang in ("en", "zh"):
        assert headline(trs[1], lang, "taihu", "Asia/Shanghai").startswith(("RESOLVED", "【告警解除】"))

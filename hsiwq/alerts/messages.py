"""Notification texts (English and Chinese) and the notification document.

A notification groups the changes of one site's alerts found in one evaluation; its
``message`` is one headline line and ``text`` the full, actionable body (site, parameter,
value and unit, threshold or class, recent trend, where to see more, how to acknowledge).
The document is also the webhook body; docs/alerts.md gives its schema
(``"schema": "hsiwq.alerts/v1"``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..params import PARAMETERS
from .engine import Transition
from .rules import SEVERITY_RANK

SCHEMA = "hsiwq.alerts/v1"

PARAM_ZH = {"chl_a": "叶绿素a", "phycocyanin": "藻蓝蛋白", "tss": "总悬浮物", "turbidity": "浊度",
            "secchi": "透明度", "cdom": "CDOM吸收系数(440 nm)", "cod_mn": "高锰酸盐指数",
            "cod": "化学需氧量", "tn": "总氮", "tp": "总磷", "nh3_n": "氨氮", "tli": "综合营养状态指数TLI(Σ)"}
LABEL = {"en": {"firing": "FIRING", "repeat": "STILL FIRING", "escalated": "ESCALATED",
                "deescalated": "DE-ESCALATED", "resolved": "RESOLVED"},
         "zh": {"firing": "告警", "repeat": "持续告警", "escalated": "告警升级",
                "deescalated": "告警降级", "resolved": "告警解除"}}
SEVERITY_ZH = {"info": "提示", "warning": "警告", "critical": "严重"}

# Condition phrases by kind: (firing, resolved); fields come from _fields().
PHRASES = {
    "en": {
        "threshold": ("{pname} {value} {unit} is {direction} {threshold} {unit}",
                      "{pname} back to {value} {unit} (clear level {clear} {unit})"),
        "who_cyano": ("{pname} {value} {unit} reached {level_name} ({threshold} {unit}, {guideline})",
                      "{pname} back to {value} {unit}, below the WHO alert levels"),
        "gb3838": ("{pname} {value} {unit} is Class {cls} (GB 3838-2002), worse than target "
                   "Class {target} (limit {threshold} {unit}){note}",
                   "back to target Class {target} or better ({pname} {value} {unit})"),
        "tli": ("trophic level index TLI(Σ) {value}: {cls_en}, worse than {worse}",
                "TLI(Σ) back to {value} ({cls_en})"),
        "rate": ("{pname} {verb} ×{ratio} within {window} min ({base} → {value} {unit})",
                 "{pname} change back to normal ({value} {unit})"),
        "extent": ("{extent} of the water has {pname} above {above} {unit} (limit {limit}){where}",
                   "{pname} above {above} {unit} back to {extent} of the water (clear level {clear_extent})"),
        "gap": ("no valid acquisition for {gap} min{daylight} (limit {threshold} min); last valid: {last}",
                "valid acquisitions again (last valid {last})"),
        "sensor": ("sensor fault: {fault_en}", "sensor fault over: {fault_en}"),
    },
    "zh": {
        "threshold": ("{pname} {value} {unit}，{direction_zh}阈值 {threshold} {unit}",
                      "{pname} 回落至 {value} {unit}（解除线 {clear} {unit}）"),
        "who_cyano": ("{pname} {value} {unit}，达到{level_name_zh}（{threshold} {unit}，{guideline}）",
                      "{pname} 回落至 {value} {unit}，低于WHO预警级别"),
        "gb3838": ("{pname} {value} {unit}，为GB 3838-2002 {cls_zh}，劣于目标{target_zh}（限值 {threshold} {unit}）{note}",
                   "恢复至目标{target_zh}或更优（{pname} {value} {unit}）"),
        "tli": ("综合营养状态指数 TLI(Σ) {value}，{cls_zh}，劣于{worse_zh}",
                "TLI(Σ) 回落至 {value}（{cls_zh}）"),
        "rate": ("{pname} {window} 分钟内{verb_zh} {ratio} 倍（{base} → {value} {unit}）",
                 "{pname} 变化恢复正常（{value} {unit}）"),
        "extent": ("{pname}高于 {above} {unit} 的水面达 {extent}（限值 {limit}）{where_zh}",
                   "{pname}高于 {above} {unit} 的水面回落至 {extent}（解除线 {clear_extent}）"),
        "gap": ("已 {gap} 分钟无有效采集{daylight_zh}（限 {threshold} 分钟）；最近有效采集：{last}",
                "恢复有效采集（最近有效采集 {last}）"),
        "sensor": ("传感器故障：{fault_zh}", "传感器故障解除：{fault_zh}"),
    },
}
FAULT = {"rejects": ("{n} consecutive rejected acquisitions (last reason: {reason})",
                     "连续 {n} 次采集被拒收（最近原因：{reason}）"),
         "saturation": ("saturated counts in {n} consecutive acquisitions", "连续 {n} 次采集信号饱和"),
         "dark_drift": ("dark level drifted {value} DN (limit ±{threshold} DN)",
                        "暗电平漂移 {value} DN（限 ±{threshold} DN）"),
         "out_of_domain": ("{pname} outside the model's domain in {n} consecutive acquisitions",
                           "{pname} 连续 {n} 次超出模型适用范围")}


def fmt(v: Any) -> str:
    """A number for people: 3 significant figures, no exponent."""
    if v is None:
        return "–"
    v = float(v)
    a = abs(v)
    return f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}" if a >= 1 else f"{v:.3g}"


def _g(v: Any) -> str:
    return "–" if v is None else f"{float(v):g}"


def local_time(t: datetime, tz: str, lang: str) -> str:
    """``2026-07-21 11:45 Asia/Shanghai (03:45 UTC)``."""
    loc = t.astimezone(ZoneInfo(tz))
    if tz == "UTC":
        return f"{loc:%Y-%m-%d %H:%M} UTC"
    return f"{loc:%Y-%m-%d %H:%M} {tz}（{t:%H:%M} UTC）" if lang == "zh" else f"{loc:%Y-%m-%d %H:%M} {tz} ({t:%H:%M} UTC)"


def _fields(tr: Transition, lang: str, tz: str) -> dict[str, str]:
    d = tr.detail
    p = PARAMETERS.get(tr.param or "")
    pname = (PARAM_ZH.get(tr.param or "", "") if lang == "zh" else p.name if p else "")
    last = d.get("last_valid")
    f = {"pname": pname, "unit": p.unit if p else "", "value": fmt(tr.value),
         "threshold": _g(tr.threshold), "clear": _g(tr.clear), "direction": tr.direction or "",
         "direction_zh": "高于" if tr.direction == "above" else "低于", "level_name": tr.level_name,
         "level_name_zh": str(d.get("level_name_zh", tr.level_name)), "guideline": str(d.get("guideline", "")),
         "cls": str(d.get("class", "")), "target": str(d.get("target", "")),
         "cls_en": str(d.get("class", "")).replace("_", " "), "worse": "", "worse_zh": "",
         "ratio": f"{d['ratio']:.3g}" if d.get("ratio") is not None else "–", "base": fmt(d.get("base")),
         "window": _g(d.get("window_minutes")), "note": "",
         "verb": "fell" if d.get("direction") == "fall" else "rose",
         "verb_zh": "下降" if d.get("direction") == "fall" else "上升",
         "gap": f"{d['gap_minutes']:.0f}" if d.get("gap_minutes") is not None else "–",
         "daylight": " of daylight" if d.get("daylight_only") else "",
         "daylight_zh": "（仅计白天）" if d.get("daylight_only") else "",
         "last": local_time(datetime.fromisoformat(last), tz, lang) if last else ("none" if lang == "en" else "无"),
         "n": str(d.get("consecutive", "")), "reason": str(d.get("reason", "")) or "–"}
    if tr.kind == "gb3838":
        from .classes import GB3838_CLASSES, GB3838_CLASSES_ZH

        zh = dict(zip(GB3838_CLASSES, GB3838_CLASSES_ZH))
        f.update(cls_zh=zh.get(f["cls"], f["cls"]), target_zh=zh.get(f["target"], f["target"]))
        if p is not None and not p.optically_active:
            f["note"] = ("; estimated from optical covariance, lower confidence" if lang == "en"
                         else "；由光学参数协变关系估算，置信度较低")
    if tr.kind == "tli":
        from .classes import TLI_CLASSES, TLI_CLASSES_ZH

        zh = dict(zip(TLI_CLASSES, TLI_CLASSES_ZH))
        f.update(cls_zh=zh.get(f["cls"], f["cls"]), worse=str(d.get("worse_than", "")).replace("_", " "),
                 worse_zh=zh.get(str(d.get("worse_than", "")), ""))
    if tr.kind == "extent":
        f.update(_extent_fields(tr, lang))
    if tr.kind == "sensor":
        en, zh_t = FAULT[str(d.get("fault", "rejects"))]
        f["fault_en"], f["fault_zh"] = en.format(**f), zh_t.format(**f)
    return f


def _extent_fields(tr: Transition, lang: str) -> dict[str, str]:
    """Fields of an extent alert: sizes as m² or %, and where the area lies."""
    d = tr.detail

    def size(v: Any) -> str:
        if v is None:
            return "–"
        return f"{fmt(v)} m²" if d.get("measure") == "area" else f"{100 * float(v):.0f} %"

    where = str(d.get("where_zh" if lang == "zh" else "where", ""))
    return {"extent": size(tr.value), "limit": size(tr.threshold), "clear_extent": size(tr.clear),
            "above": _g(d.get("above")), "where": f", {where}" if where else "",
            "where_zh": f"，{where}" if where else ""}


def headline(tr: Transition, lang: str, site_name: str, tz: str) -> str:
    """One line: what happened, where, how bad."""
    phrase = PHRASES[lang][tr.kind][1 if tr.status == "resolved" else 0].format(**_fields(tr, lang, tz))
    label = LABEL[lang][tr.change or tr.status]
    if lang == "zh":
        sev = "" if tr.status == "resolved" else f"·{SEVERITY_ZH[tr.severity]}"
        return f"【{label}{sev}】{site_name}：{phrase}（{tr.rule_id}）"
    sev = "" if tr.status == "resolved" else f" [{tr.severity}]"
    return f"{label}{sev} {site_name}: {phrase} ({tr.rule_id})"


def _trend_line(t: dict[str, Any] | None, lang: str) -> str | None:
    if not t or not t.get("n"):
        return None
    vals = " · ".join("–" if v is None else (f"{100 * v:.0f}%" if t["what"] == "accepted" else fmt(v))
                      for _, v in t["points"])
    unit = PARAMETERS[t["what"]].unit if t["what"] in PARAMETERS else ""
    change = f" ({t['change_pct']:+.0f} %)" if t.get("change_pct") is not None else ""
    if t["what"] == "accepted":
        lead = (f"近{_g(t['hours'])}小时每小时有效采集比例：" if lang == "zh"
                else f"Accepted acquisitions per hour, last {_g(t['hours'])} h: ")
    else:
        name = PARAM_ZH.get(t["what"], t["what"]) if lang == "zh" else (
            PARAMETERS[t["what"]].name if t["what"] in PARAMETERS else "TLI(Σ)")
        lead = (f"近{_g(t['hours'])}小时{name}趋势（小时中值，{unit}）：" if lang == "zh"
                else f"Trend of {name}, last {_g(t['hours'])} h (hourly median{', ' + unit if unit else ''}): ")
    return f"{lead}{vals}  {t.get('spark', '')}{change}"


def body(trs: list[Transition], lang: str, site: Any, trends: dict[str, dict | None],
         also_firing: list[dict[str, Any]], links: dict[str, str | None], runbooks: dict[str, str]) -> str:
    """The full text of a grouped notification."""
    name = _site_name(site, lang)
    lines = []
    full = (site.name_zh or site.name or site.id) if lang == "zh" else (site.name or site.id)
    for tr in trs:
        lines.append(headline(tr, lang, name, site.timezone))
        at = local_time(tr.time, site.timezone, lang)
        lasted = _lasted(tr, lang, site.timezone)
        if lang == "zh":
            lines.append(f"  站点：{full}［{site.id}］，{site.lat:.2f}°N {site.lon:.2f}°E")
            lines.append(f"  采集时间：{at}{lasted}")
        else:
            lines.append(f"  Site: {full} [{site.id}], {site.lat:.2f}°N {site.lon:.2f}°E")
            lines.append(f"  Acquired: {at}{lasted}")
        if tr.detail.get("uncalibrated"):
            model = tr.detail.get("model", "")
            lines.append(f"  模型：{model}（未针对本区域校准，数值仅供参考）" if lang == "zh" else
                         f"  Model: {model}, not calibrated for this region: the value is indicative")
        tline = _trend_line(trends.get(tr.key), lang)
        if tline:
            lines.append("  " + tline)
        if runbooks.get(tr.rule_id):
            lines.append(("  处置指引：" if lang == "zh" else "  Runbook: ") + runbooks[tr.rule_id])
    if also_firing:
        items = ", ".join(f"{a['rule']} ({a['severity']})" for a in also_firing)
        lines.append(("本站其他告警：" if lang == "zh" else "Also firing at this site: ") + items)
    more = " · ".join(v for v in (links.get("dashboard"), links.get("cli")) if v)
    lines.append(("详情：" if lang == "zh" else "More: ") + more)
    lead = trs[0]
    if lead.status == "firing":
        lines.append(("确认：" if lang == "zh" else "Acknowledge: ") + f"hsiwq alerts ack {site.id} {lead.rule_id}"
                     + ("  静默：" if lang == "zh" else "  Silence: ")
                     + f"hsiwq alerts silence {site.id} {lead.rule_id} --for 2h")
    return "\n".join(lines)


def _lasted(tr: Transition, lang: str, tz: str) -> str:
    if not tr.since or tr.change == "firing":
        return ""
    start = datetime.fromisoformat(tr.since)
    mins = max((tr.time - start).total_seconds() / 60.0, 0.0)
    dur = f"{int(mins // 60)} h {int(mins % 60)} min" if mins >= 60 else f"{mins:.0f} min"
    at = local_time(start, tz, lang)
    if lang == "zh":
        dur = dur.replace(" h ", " 小时 ").replace(" min", " 分钟")
        return f"；告警始于 {at}，已持续 {dur}" if tr.status == "firing" else f"；告警始于 {at}，持续 {dur}"
    return f"; firing since {at} ({dur})" if tr.status == "firing" else f"; had fired since {at} ({dur})"


def _site_name(site: Any, lang: str) -> str:
    if lang == "zh" and getattr(site, "name_zh", ""):
        return site.name_zh
    return site.id


def order(trs: list[Transition]) -> list[Transition]:
    """Firing before resolved, most severe first."""
    return sorted(trs, key=lambda t: (t.status != "firing", -SEVERITY_RANK[t.severity], t.rule_id))


def alert_doc(tr: Transition, lang: str, site: Any, trend: dict | None) -> dict[str, Any]:
    """The JSON description of one alert change in a notification."""
    p = PARAMETERS.get(tr.param or "")
    return {"rule": tr.rule_id, "kind": tr.kind, "category": tr.category, "status": tr.status,
            "change": tr.change, "severity": tr.severity, "parameter": tr.param,
            "parameter_name": p.name if p else None, "unit": p.unit if p else None,
            "value": None if tr.value is None else round(float(tr.value), 4),
            "threshold": tr.threshold, "clear": tr.clear, "direction": tr.direction,
            "level": tr.level, "level_name": tr.level_name, "time": tr.time.isoformat(),
            "since": tr.since, "episode": tr.episode, "detail": tr.detail, "trend": trend,
            "message": headline(tr, lang, _site_name(site, lang), site.timezone)}

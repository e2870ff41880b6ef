"""What ids and codes are called: display names in one language, from the session's graph, else its store.

:class:`Names` turns ids (jurisdictions, organizations, posts, people) and codes (vocabularies, industries,
rules, citations) into names; the reports (``accountability.reports.model``) and the app share it.
:class:`Labels` adds the sentences the app and the CLI print about a chain's records (a gap, a piece of
evidence, an assessment, why the level above answers).
"""

from __future__ import annotations

from typing import Any, Collection

import orjson

from graph_schema import SCHEMA

OVERALL = {"zh": "安全生产（全面）", "en": "work safety (overall)"}  # the industry "*" of a portfolio
# an inspection that found hazards, none of them those a record is cited about (rule 10: it missed them)
OTHER_HAZARDS = {"zh": "发现其他隐患", "en": "Other hazards found"}


class Names:
    """Display names of codes and ids in ``lang``, from the session's graph (loaded already for the engine),
    else from its store; rows read from the store are kept."""

    def __init__(self, session, lang: str = "zh"):
        self.session = session
        self.lang = lang
        self.schema = SCHEMA
        self._industries: dict[str, dict] | None = None
        self._rows: dict[tuple[str, str], dict | None] = {}

    @property
    def graph(self):
        return self.session.graph

    def row(self, table: str, rid: str) -> dict | None:
        key = (table, rid)
        if key not in self._rows:
            self._rows[key] = next(iter(self.session.store.rows(table, id=rid)), None)
        return self._rows[key]

    def _stored(self, table: str, rid: str, column: str) -> str:
        """``column`` of the stored row, or the id when there is none."""
        row = self.row(table, rid)
        return row[column] if row else rid

    def inspection_outcome(self, record: dict, hazards: Collection[str] = ()) -> str:
        """An inspection's outcome as a record cites it: "发现其他隐患" when it found hazards, listed them, and
        listed none of ``hazards`` (those the citing link or chain is about: an inspection that missed them,
        rule 10), else the outcome's label (an inspection that found hazards without listing them says
        nothing of which)."""
        outcome = record.get("outcome")
        if outcome == "hazards_found" and hazards and record.get("id"):
            row = record if "hazard_ids" in record else self.row("inspections", record["id"])  # an evidence
            listed = (row.get("hazard_ids") or ()) if row is not None else ()                # record has none
            if listed and set(hazards).isdisjoint(listed):
                return OTHER_HAZARDS[self.lang]
        return self.term("inspection_outcomes", outcome)

    # -- codes ----------------------------------------------------------------------------------------------

    def term(self, vocabulary: str, code: str | None) -> str:
        if code is None or code == "":
            return ""
        if vocabulary == "industries":
            return self.industry(code)
        return self.schema.label(vocabulary, code, self.lang)

    def industry(self, code: str | None) -> str:
        """An industry's label: built in, else the dataset's own (its ``industries`` table), else the code."""
        if not code:
            return ""
        if code == "*":
            return OVERALL[self.lang]
        if code in self.schema.vocab("industries"):
            return self.schema.label("industries", code, self.lang)
        row = self._dataset_industries().get(code)
        return row[f"name_{self.lang}"] if row else code

    def industries(self) -> dict[str, str]:
        """Every industry code (built-in and the dataset's own) with its label."""
        codes = list(self.schema.vocab("industries"))
        codes += [c for c in self._dataset_industries() if c not in codes]
        return {c: self.industry(c) for c in codes}

    def _dataset_industries(self) -> dict[str, dict]:
        if self._industries is None:
            self._industries = {r["code"]: r for r in self.session.store.rows("industries")}
        return self._industries

    def rule(self, rule_id: str) -> str:
        ruleset = self.session.ruleset
        for r in ruleset.rules:
            if r.id == rule_id:
                return f"{r.id} {r.title[self.lang]}"
        for e in ruleset.escalations:
            if e.id == rule_id:
                return f"{e.id} {e.title[self.lang]}"
        return rule_id

    def citation(self, key: str) -> str:
        return self.session.ruleset.citation(key, self.lang)

    def citation_text(self, key: str) -> str:
        return self.session.ruleset.citations[key].get(f"text_{self.lang}", "")

    # -- ids ------------------------------------------------------------------------------------------------

    def jurisdiction(self, jid: str | None) -> str:
        if not jid:
            return ""
        j = self.graph.jurisdictions.get(jid)
        return j.name if j else jid

    def ancestry(self, jid: str) -> list:
        """The jurisdiction and those above it, province first."""
        return list(reversed(list(self.graph.ancestors_or_self(jid))))

    def place(self, jid: str | None) -> str:
        """The jurisdiction with its ancestors, province first: 江南省 临江市 东湖区."""
        if not jid:
            return ""
        return " ".join(j.name for j in self.ancestry(jid)) or jid

    def organization(self, oid: str | None) -> str:
        if not oid:
            return ""
        o = self.graph.orgs.get(oid)
        return o.name if o else self._stored("organizations", oid, "name")

    def post(self, pid: str | None) -> str:
        if not pid:
            return ""
        p = self.graph.posts.get(pid)
        return p.title if p else self._stored("posts", pid, "title")

    def post_in_org(self, pid: str) -> str:
        """A post with its organization when the title does not already say it: 东湖区人民政府 区长."""
        p = self.graph.posts.get(pid)
        row = {"title": p.title, "organization_id": p.organization_id} if p else self.row("posts", pid)
        if not row:
            return pid
        org = self.organization(row["organization_id"])
        return row["title"] if row["title"].startswith(org) else f"{org} {row['title']}"

    def post_with_org(self, pid: str) -> str:
        """A post as a report's record names it, the organization written before the title: 东湖区人民政府区长."""
        p = self.graph.posts.get(pid)
        oid = p.organization_id if p else (self.row("posts", pid) or {}).get("organization_id")
        return (self.organization(oid) if oid else "") + self.post(pid)

    def person(self, pid: str | None) -> str:
        if not pid:
            return ""
        return self.graph.people.get(pid) or self._stored("people", pid, "name")

    def name_of(self, any_id: str) -> str:
        """A name for an id on an evidence path: jurisdiction, organization or post."""
        graph = self.graph
        if any_id in graph.jurisdictions:
            return graph.jurisdictions[any_id].name
        if any_id in graph.orgs:
            return graph.orgs[any_id].name
        if any_id in graph.posts:
            return graph.posts[any_id].title
        for table, column in (("organizations", "name"), ("posts", "title")):
            row = self.row(table, any_id)
            if row:
                return row[column]
        return any_id


class Labels(Names):
    """:class:`Names` and the sentences the app and the CLI print about a chain: its gaps, the records
    behind its links, a holder's assessment, why the level above answers, a cell of any table."""

    def gap(self, gap: dict) -> str:
        """One sentence for a gap of a chain."""
        kind = self.term("gap_kinds", gap["kind"])
        zh = self.lang == "zh"
        parts = [kind]
        if gap.get("post_id"):
            parts.append(self.post_in_org(gap["post_id"]))
        elif gap.get("organization_id"):
            parts.append(self.organization(gap["organization_id"]))
        if gap.get("industry"):
            parts.append(self.industry(gap["industry"]))
        if gap.get("jurisdiction_id") and not gap.get("post_id"):
            parts.append(self.jurisdiction(gap["jurisdiction_id"]))
        if gap["kind"] == "no_regulator" and gap.get("regulator_jurisdiction_id"):
            who = self.jurisdiction(gap["regulator_jurisdiction_id"])
            parts.append(f"应由{who}指定监管部门" if zh else f"{who} must assign a regulator")
        if gap["kind"] == "overdue":
            parts.append(f"期限 {gap['deadline']}，逾期 {gap['days']} 天" if zh
                         else f"deadline {gap['deadline']}, {gap['days']} days overdue")
        if gap.get("from"):
            parts.append(f"{gap['from']} 至 {gap['to']}" if zh else f"{gap['from']} to {gap['to']}")
        return ("：" if zh else ": ").join([parts[0], ("，" if zh else ", ").join(parts[1:])]) if len(parts) > 1 \
            else parts[0]

    def value(self, table: str, column: str, value: Any) -> str:
        """A cell of ``table`` in words: a code by its label, a reference by its name (the id after it), a
        list each; text, numbers and dates as they are."""
        if value is None or value == "":
            return ""
        col = next((c for c in self.schema.tables[table].columns if c.name == column), None) \
            if table in self.schema.tables else None
        if isinstance(value, (list, tuple)):
            return ("；" if self.lang == "zh" else "; ").join(self.value(table, column, v) for v in value)
        if isinstance(value, bool):
            return ("是" if value else "否") if self.lang == "zh" else ("yes" if value else "no")
        if col is None:
            return str(value)
        if col.base.startswith("vocab:"):
            return self.term(col.base[6:], value)
        named = {"jurisdictions": self.jurisdiction, "organizations": self.organization, "posts": self.post_in_org,
                 "people": self.person}.get(col.base[4:]) if col.base.startswith("ref:") else None
        if named:
            name = named(value)
            return name if name == value else f"{name} ({value})"
        return str(value)

    def vacant(self) -> str:
        return "（空缺）" if self.lang == "zh" else "(vacant)"

    def acting(self) -> str:
        return "（代理）" if self.lang == "zh" else " (acting)"

    def escalation(self, reason: dict) -> str:
        """Why the level above answers (see ``ui.escalation``): "上溯：逾期 109 天；未挂牌督办"."""
        zh = self.lang == "zh"
        why = []
        if reason["major"]:
            why.append("重大隐患" if zh else "major hazard")
        if reason["overdue_days"]:
            why.append(f"逾期 {reason['overdue_days']} 天" if zh else f"{reason['overdue_days']} days overdue")
        if reason["escalated_on"]:
            event = f"{reason['escalated_on']} 已挂牌督办" if zh else f"escalated (挂牌督办) on {reason['escalated_on']}"
        else:
            event = "未挂牌督办" if zh else "never escalated (no 挂牌督办 on record)"
        head = ("上溯：" if zh else "level above: ") + ("、" if zh else ", ").join(why) if why else \
            ("上溯" if zh else "level above")
        return head + ("；" if zh else "; ") + event

    def heading(self, hazard: dict, window: tuple[str, str], unresolved: bool) -> str:
        """What a hazard's chain is of: "隐患 H1，2026-03-01 的责任链条", with a note when the hazard was not
        unresolved that day (found later, or closed by then)."""
        zh, hid = self.lang == "zh", hazard["id"]
        start, end = window
        if start != end:
            return f"隐患 {hid}，{start} 至 {end} 的责任链条" if zh else f"Hazard {hid}: the chain from {start} to {end}"
        head = f"隐患 {hid}，{end} 的责任链条" if zh else f"Hazard {hid}: the chain on {end}"
        if unresolved:
            return head
        if end < hazard["found_on"]:
            note = f"（该隐患 {hazard['found_on']} 才发现）" if zh else f" (found only on {hazard['found_on']})"
        else:
            closed = hazard.get("closed_on")
            closed = closed if closed and closed <= end else None  # else closed by an event the row does not date
            note = (f"（该隐患当日并非未整改{f'，已于 {closed} 销号' if closed else ''}）" if zh
                    else f" (not unresolved that day{f': closed on {closed}' if closed else ''})")
        return head + note

    def since(self, gap: dict) -> str:
        """When a gap of a chain began, where that is known ("" otherwise)."""
        return gap.get("since") or gap.get("from") or ""

    def evidence(self, record: dict, hazards: Collection[str] = ()) -> str:
        """One record behind a link or an exemption (v2), e.g. "检查 X1（2026-01-10，责令整改）"; ``hazards``:
        those the record is cited about (``inspection_outcome``)."""
        zh = self.lang == "zh"
        kind = record.get("kind")
        if kind == "inspection":
            what = self.inspection_outcome(record, hazards)
            return f"检查 {record['id']}（{record['date']}，{what}）" if zh else \
                f"inspection {record['id']} ({record['date']}, {what})"
        if kind == "event":
            what = self.term("event_kinds", record.get("event"))
            if record.get("outcome"):
                what += ("：" if zh else ": ") + self.term("reinspection_outcomes", record["outcome"])
            return f"{what}（{record['date']}，隐患 {record['hazard_id']}）" if zh else \
                f"{what} ({record['date']}, hazard {record['hazard_id']})"
        if kind == "designation":
            what = self.term("designation_kinds", record.get("designation"))
            return f"{what}（自 {record['date']}，对象 {record['target_id']}）" if zh else \
                f"{what} (from {record['date']}, for {record['target_id']})"
        if kind == "tenure":
            return f"到任 {record['start']}，任职 {record['days']} 天（少于 {record['min_days']} 天）" if zh else \
                f"in post since {record['start']}: {record['days']} days (fewer than {record['min_days']})"
        if kind == "overlap":
            return (f"在该期间任职 {record['days']} 天（少于 {record['min_days']} 天，他人任职 {record['other_days']} 天）"
                    if zh else f"{record['days']} days in post in the period (fewer than {record['min_days']}; "
                    f"another holder {record['other_days']} days)")
        return orjson.dumps(record).decode()

    def assessment(self, holder) -> str:
        """A holder's assessment (v2) with its reasons, or "" under v1."""
        if holder is None or holder.assessment is None:
            return ""
        status, reasons = holder.assessment
        text = self.term("assessment_statuses", status)
        if reasons:
            text += ("：" if self.lang == "zh" else ": ") + ("；" if self.lang == "zh" else "; ").join(
                self.evidence(r) for r in reasons)
        return text

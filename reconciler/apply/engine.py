"""Apply: run exactly the saved plan, never overwriting what changed since it was made.

Before anything is written the plan must match the rules and profile in use. Then the plan
runs stage by stage, a stage being the consecutive actions of one rule and kind (plan
order puts what others depend on first). Within a stage, actions go in batches of
``batch_size``, up to ``concurrency`` batches in flight:

* each batch first re-reads its target rows in one ``$batch`` of GETs: a create whose key
  exists, or an update whose row already holds the planned values, is done; a row that
  changed since the plan is a conflict, reported with before/planned/now and left alone;
* the writes go in one ``$batch`` with continue-on-error (updates with ``If-Match``);
  adjustments as FS inventory adjustment documents, one change set each; a header create
  with its line creates (``Action.document``) as one F&O document, one change set each;
* every write is journaled ``sent`` before it leaves and gets its outcome after; a resumed
  apply skips what is done and re-reads what was in flight before sending it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

from reconciler.apply.adjustments import AdjustmentBatch, adjustment_batches, post_adjustments
from reconciler.apply.documents import DocumentBatch, DocumentItem, cut_documents, post_documents
from reconciler.apply.pool import MAX_CONCURRENCY, in_parallel
from reconciler.apply.records import RecordBatch, apply_records
from reconciler.config import Profile, profile_identity
from reconciler.connectors.base import Connector, Link
from reconciler.errors import PlanError, StalePlanError
from reconciler.journal import DONE, Journal
from reconciler.outcomes import ApplyResult, Outcome
from reconciler.plan import Action, Plan
from reconciler.rules import RuleSet

__all__ = ["ApplyOptions", "ApplyResult", "Outcome", "apply_plan", "check_plan_fits"]

ProgressCallback = Callable[[Action, Outcome], None]


@dataclass(frozen=True)
class ApplyOptions:
    """How hard apply pushes: operations per ``$batch`` and batches in flight."""

    batch_size: int = 100
    concurrency: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 1000:
            raise ValueError(
                f"batch size must be 1 to 1000 (a $batch limit), not {self.batch_size}"
            )
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ValueError(
                f"concurrency must be 1 to {MAX_CONCURRENCY} (Dataverse's limit of concurrent "
                f"requests), not {self.concurrency}"
            )


def check_plan_fits(plan: Plan, rules: RuleSet, profile: Profile) -> None:
    """Refuse a plan made from other rules or for another profile (StalePlanError)."""
    if plan.rules_hash != rules.hash:
        raise StalePlanError(
            f"the plan was made from other rules ({plan.rules_hash[:19]}…) than the ones in "
            f"{profile.rules_dir} ({rules.hash[:19]}…). Re-run `reconcile plan` with the current "
            "rules, or restore the rules the plan was made with."
        )
    ours = profile_identity(profile)
    theirs = {name: plan.profile.get(name) for name in ours}
    differing = [name for name in ours if name != "name" and ours[name] != theirs[name]]
    if differing:
        details = ", ".join(
            f"{name}: plan {theirs[name]!r} vs profile {ours[name]!r}" for name in differing
        )
        raise StalePlanError(
            f"the plan was made for another environment ({details}). Apply it with the profile "
            "it was made with, or re-plan."
        )


def apply_plan(
    plan: Plan,
    rules: RuleSet,
    profile: Profile,
    connectors: Mapping[str, Connector],
    *,
    on_outcome: ProgressCallback | None = None,
    journal: Journal | None = None,
    allow_deactivate: bool = False,
    options: ApplyOptions | None = None,
) -> ApplyResult:
    """Execute the plan's actions and return every outcome.

    With a ``journal``, actions an earlier run of this plan finished are not repeated, and
    actions whose earlier outcome is unknown (``sent``, then the process died) are re-read
    before anything is sent again.
    """
    check_plan_fits(plan, rules, profile)
    _check_deactivations(plan, allow_deactivate)
    run = _Run(plan, rules, connectors, journal, options or ApplyOptions())
    before = _requests(connectors)
    throttled_before = _throttled(connectors)
    result = ApplyResult()
    by_id = {action.id: action for action in plan.actions}
    for stage in _stages(plan.actions):
        for outcomes in run.stage(stage):
            for outcome in outcomes:
                run.finished[outcome.action_id] = outcome
                result.outcomes.append(outcome)
                if on_outcome:
                    on_outcome(by_id[outcome.action_id], outcome)
    result.requests = _requests(connectors) - before
    result.throttled = _throttled(connectors) - throttled_before
    return result


def _check_deactivations(plan: Plan, allow_deactivate: bool) -> None:
    deactivations = sum(1 for action in plan.actions if action.kind == "deactivate")
    if deactivations and not allow_deactivate:
        raise PlanError(
            f"the plan deactivates {deactivations} record(s); nothing was written. Review them "
            "(`reconcile show`) and pass --allow-deactivate to apply them."
        )


class _Run:
    """State shared by the stages of one apply run."""

    def __init__(
        self,
        plan: Plan,
        rules: RuleSet,
        connectors: Mapping[str, Connector],
        journal: Journal | None,
        options: ApplyOptions,
    ) -> None:
        self.rules = rules
        self.connectors = connectors
        self.journal = journal
        self.options = options
        self.previous = journal.previous() if journal else {}
        self.finished: dict[str, Outcome] = {}
        self.label = f"reconciler {plan.plan_id[7:19]} {plan.created_at}"
        self.lines: dict[str, list[Action]] = {}
        """Header create id -> the line creates written with it, in one change set."""
        for action in plan.actions:
            header = (action.document or {}).get("action")
            if header and action.kind == "create":
                self.lines.setdefault(header, []).append(action)

    def stage(self, actions: list[Action]) -> Iterator[list[Outcome]]:
        """Outcomes of one stage, a batch at a time, journaled before they are yielded.
        Lines already written with their header in this run are not repeated."""
        earlier = [self.previous[a.id] for a in actions if _is_done(self.previous.get(a.id))]
        if earlier:
            yield [_earlier(outcome) for outcome in earlier if isinstance(outcome, Outcome)]
        todo = [
            a
            for a in actions
            if not _is_done(self.previous.get(a.id)) and a.id not in self.finished
        ]
        if not todo:
            return
        if todo[0].kind == "report":
            yield [Outcome(a.id, "reported", a.message or "") for a in todo]
            return
        for outcomes in self._batches(todo):
            if self.journal:
                self.journal.record_many(outcomes)
            yield outcomes

    def _batches(self, todo: list[Action]) -> Iterator[list[Outcome]]:
        rule = self.rules.get(todo[0].rule)
        connector = self.connectors[todo[0].system]
        uncertain = {a.id for a in todo if self.previous.get(a.id) == "sent"}
        sent = self.journal.sent if self.journal else _nothing
        if todo[0].kind == "adjust":
            skipped, groups = adjustment_batches(todo, self._resolve, self.options.batch_size)
            if skipped:
                yield skipped
            adjustments = [
                AdjustmentBatch(rule, connector, g, uncertain, self.label) for g in groups
            ]
            yield from in_parallel(
                partial(post_adjustments, sent=sent), adjustments, self.options.concurrency
            )
            return
        skipped, ready, documents = [], [], []
        for action in todo:
            links = self._resolve(action)
            if isinstance(links, str):
                skipped.append(Outcome(action.id, "skipped", links))
            elif action.kind == "create" and action.id in self.lines:
                documents.append(DocumentItem(action, links, self._lines_of(action)))
            else:
                ready.append((self._with_header(action), links))
        if skipped:
            yield skipped
        if documents:
            batches_of = [
                DocumentBatch(self.rules, rule, connector, items, uncertain)
                for items in cut_documents(documents, self.options.batch_size)
            ]
            yield from in_parallel(
                partial(post_documents, sent=sent), batches_of, self.options.concurrency
            )
        size = self.options.batch_size
        batches = [
            RecordBatch(rule, connector, ready[i : i + size], uncertain)
            for i in range(0, len(ready), size)
        ]
        yield from in_parallel(partial(apply_records, sent=sent), batches, self.options.concurrency)

    def _resolve(self, action: Action) -> list[Link] | str:
        return _resolve_links(action, self.finished)

    def _lines_of(self, header: Action) -> tuple[Action, ...]:
        """The header's line creates still to do (an earlier run may have finished some)."""
        return tuple(
            line for line in self.lines[header.id] if not _is_done(self.previous.get(line.id))
        )

    def _with_header(self, action: Action) -> Action:
        """A line whose header was created before its stage (an earlier run, or a header
        the line could not be written with) names that header's record."""
        document = action.document or {}
        header = document.get("action")
        if not header or "id" in document:
            return action
        record_id = self.finished.get(header, _MISSING).record_id
        return replace(action, document=dict(document) | {"id": record_id})


def _nothing(_ids: list[str]) -> None:
    return None


def _requests(connectors: Mapping[str, Connector]) -> int:
    return sum(connector.request_count for connector in connectors.values())


def _throttled(connectors: Mapping[str, Connector]) -> int:
    return sum(connector.throttled_count for connector in connectors.values())


def _is_done(previous: Outcome | str | None) -> bool:
    return isinstance(previous, Outcome) and previous.status in DONE


def _earlier(previous: Outcome) -> Outcome:
    return replace(previous, detail=f"{previous.detail} (in an earlier run)".strip())


def _stages(actions: Sequence[Action]) -> list[list[Action]]:
    """Consecutive actions of one rule and kind: independent of each other, so they batch."""
    stages: list[list[Action]] = []
    for action in actions:
        if stages and (stages[-1][0].rule, stages[-1][0].kind) == (action.rule, action.kind):
            stages[-1].append(action)
        else:
            stages.append([action])
    return stages


def _resolve_links(action: Action, finished: Mapping[str, Outcome]) -> list[Link] | str:
    """Links as written: known ids, or ids of records this run created. A string says why not."""
    blocked = [dep for dep in action.depends_on if finished.get(dep, _MISSING).status not in _DONE]
    if blocked:
        return f"depends on {', '.join(blocked)}, which did not apply"
    links = []
    for navigation, link in sorted(action.links.items()):
        record_id = link.get("id")
        if record_id is None and "action" in link:
            record_id = finished.get(link["action"], _MISSING).record_id
        if not record_id:
            return f"the record for {navigation} is not known (depends on {link.get('action')})"
        links.append(Link(navigation, link["entity_set"], str(record_id)))
    return links


_DONE = {"applied", "unchanged"}
_MISSING = Outcome("", "skipped")

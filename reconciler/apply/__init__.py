"""Apply a saved plan: batched, paced, journaled, and never overwriting what changed."""

from reconciler.apply.engine import ApplyOptions, apply_plan, check_plan_fits
from reconciler.outcomes import ApplyResult, Outcome

__all__ = ["ApplyOptions", "ApplyResult", "Outcome", "apply_plan", "check_plan_fits"]

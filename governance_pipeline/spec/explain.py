"""`govern validate --explain`: the effective policy set of a job, and where each part came from."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from governance_pipeline.spec import Policy, ResolvedSpec, severity_of


def enforcement(policy: Policy) -> str:
    """How a policy is enforced: in the prompt, as a check, or both."""
    ways = [w for w, on in (("prompt", policy.instruction), ("check", policy.check)) if on]
    if policy.check is not None:
        ways[-1] = f"check ({policy.check.type})"
    return " + ".join(ways)


def render_explanation(spec: ResolvedSpec, console: Console) -> None:
    """Print the policies by authority, then the SLAs, each with its origin and what it replaced."""
    console.print(f"[bold]{spec.name}[/bold]  spec {spec.spec_hash}  ({spec.path})")
    policies = Table(title="Effective policies, highest authority first", title_justify="left")
    for column in ("policy", "level", "severity", "enforced by", "from", "overrides"):
        policies.add_column(column, overflow="fold")
    for rp in sorted(spec.policies, key=lambda rp: rp.item.level.rank):
        p = rp.item
        policies.add_row(
            p.id + (" (overridable)" if p.overridable else ""),
            p.level.value,
            severity_of(p.level).value,
            enforcement(p),
            str(rp.origin),
            str(rp.overrides) if rp.overrides else "",
        )
    console.print(policies)
    slas = Table(title="SLAs", title_justify="left")
    for column in ("sla", "level", "promise", "from", "overrides"):
        slas.add_column(column, overflow="fold")
    for rs in spec.slas:
        s = rs.item
        bound = f">= {s.min:g}" if s.min is not None else f"<= {s.max:g}"
        slas.add_row(
            s.id,
            f"{s.level.value} ({severity_of(s.level).value})",
            f"{s.metric.value} {bound}",
            str(rs.origin),
            str(rs.overrides) if rs.overrides else "",
        )
    console.print(slas)
    console.print(
        "Rules: platform policies cannot be overridden; developer policies only by a user-level "
        "instruction where they say `overridable: true`; guidelines by any level above. Row data "
        "has no authority."
    )

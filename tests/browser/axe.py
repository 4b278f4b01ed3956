"""axe-core in the browser tests: WCAG 2.1 AA checks on whatever page a test has open.

axe-core comes bundled in the axe-playwright-python package, so nothing is fetched at run
time. It is injected with `page.evaluate` (the DevTools protocol, which the site's
Content-Security-Policy does not block), never as a <script> tag, which the policy would refuse.
"""

from axe_playwright_python.base import AXE_SCRIPT

# The rule sets a page must pass: WCAG 2.0 and 2.1, levels A and AA.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_RUN = """options => axe.run(document, options).then(results => results.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => ({
        target: n.target.flat(Infinity).join(" "),
        why: [...n.any, ...n.all, ...n.none].map(check => check.message).filter(Boolean),
    })),
})))"""


def axe_violations(page, tags: list[str] = WCAG_21_AA) -> list[dict]:
    """Run axe-core on the page as it is now and return its violations (id, impact, help and
    the nodes: each a CSS selector with axe's reasons)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": tags}, "resultTypes": ["violations"]}
    return page.evaluate(_RUN, options)


def violations_report(violations: list[dict], label: str) -> str:
    """One block per violation: rule id, impact and help, then each offending element."""
    lines = []
    for violation in violations:
        lines.append(f"{label}: {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            reasons = "; ".join(node["why"])
            lines.append(f"    {node['target']}" + (f" -- {reasons}" if reasons else ""))
    return "\n".join(lines)


def assert_accessible(page, label: str = "") -> None:
    """Fail when axe-core finds any WCAG 2.1 AA violation on the page as it is now; the
    message lists each violation and the selectors of the elements at fault."""
    violations = axe_violations(page)
    assert not violations, "accessibility violations:\n" + violations_report(
        violations, label or page.url
    )

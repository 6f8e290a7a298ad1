"""axe-core (through axe-playwright-python) on a page: serious or critical violations fail the
test; moderate and minor ones are reported as warnings in the test summary."""

import warnings

from axe_playwright_python.sync_playwright import Axe

BLOCKING = {"serious", "critical"}


class AxeFinding(UserWarning):
    """A moderate or minor axe finding: reported, not failed."""


def describe(violation: dict) -> str:
    targets = "; ".join(
        " ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
        for node in violation["nodes"][:5]
    )
    return f"[{violation['impact']}] {violation['id']}: {violation['help']} ({len(violation['nodes'])}×: {targets})"


def check_page(page, name: str, context=None) -> None:
    """Run axe on the page as it is; fail on serious/critical, warn about the rest."""
    violations = Axe().run(page, context=context).response["violations"]
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    for violation in violations:
        if violation["impact"] not in BLOCKING:
            warnings.warn(f"{name}: {describe(violation)}", AxeFinding, stacklevel=2)
    assert not blocking, f"{name}: serious or critical accessibility violations:\n" + "\n".join(
        describe(v) for v in blocking
    )

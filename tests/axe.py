"""axe-core accessibility checks in the real browser. axe.min.js comes from the npm
registry at set-up (scripts/test.sh unpacks it into var/vendor); it is injected into
the page under test only, never served by the product."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver

from knowledge_base.settings import REPO_DIR

AXE_VERSION = "4.14.1"
AXE_JS = REPO_DIR / "var" / "vendor" / f"axe-core-{AXE_VERSION}" / "axe.min.js"
BLOCKING = {"serious", "critical"}


def axe_source(path: Path = AXE_JS) -> str:
    if not path.is_file():
        message = f"{path} is missing: scripts/test.sh unpacks axe-core {AXE_VERSION} there"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path.read_text(encoding="utf-8")


def run_axe(driver: webdriver.Chrome, selector: str = "body") -> list[dict[str, Any]]:
    """The serious and critical violations axe finds in `selector` (WCAG 2.x A and AA rules)."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(axe_source())
    result = driver.execute_async_script(
        """
        const [selector, done] = arguments;
        axe.run(document.querySelector(selector), {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
          .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                   nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))
          .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));
        """,
        selector,
    )
    return [v for v in result if v["impact"] in BLOCKING]

"""Real headless Chromium (Debian's chromium and chromium-driver) through Selenium.
Never a downloaded browser: the paths are Debian's and missing ones fail under CI=true."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTEFACTS = Path(os.environ.get("OPASTIN_TEST_ARTEFACTS", "var/test-artefacts"))


def require_chromium() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = "Debian's chromium and chromium-driver are not installed (set-up installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def chromium(width: int = 1280, height: int = 900, language: str = "en") -> webdriver.Chrome:
    """A new browser (its own profile: cookies and session storage not shared)."""
    require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage",
        "--disable-gpu", f"--window-size={width},{height}", f"--lang={language}",
    ):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    return webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver") or str(CHROMEDRIVER)), options=options)


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """Keep a screenshot as a test artefact (var/test-artefacts by default)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path

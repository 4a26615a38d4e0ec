"""The outcome dashboard in real headless Chromium over the real API on a port: a
platform admin signs in, reads the seeded week's figures, sees the charts load and
small counts as "<5", and finds no personal data on the page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import accounts, clicks
from knowledge_base.models import Service, User
from knowledge_base.settings import Settings
from tests.browser import chromium, screenshot
from tests.live_server import live_server, wait_for
from tests.outcome_seed import END, PII_FRAGMENTS, START, seed

pytestmark = pytest.mark.slow
EMAIL, PASSWORD = "o9-browser@x.fi", "correct horse battery staple"


def test_dashboard_renders_in_chromium(settings: Settings, sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        linked = [
            s.id
            for s in session.scalars(select(Service).order_by(Service.id).limit(400))
            if list(clicks.catalogue_urls(s))
        ]
        if session.scalar(select(User).where(User.email == EMAIL)) is None:
            accounts.add_user(
                session,
                email=EMAIL,
                name="Admin",
                password=PASSWORD,
                roles=[(None, "platform_admin")],
                now=datetime.now(UTC),
                ui_language="en",
            )
        session.commit()
    seed(sessions, linked[:3])
    app_settings = settings.model_copy(
        update={"rasa_url": "http://127.0.0.1:9", "action_server_url": "http://127.0.0.1:9"}
    )
    with live_server(app_settings) as server:
        driver = chromium()
        try:
            driver.get(f"{server.url}/console/outcomes?from={START.isoformat()}&to={END.isoformat()}")
            wait_for(lambda: driver.find_elements(By.ID, "email"))
            driver.find_element(By.ID, "email").send_keys(EMAIL)
            driver.find_element(By.ID, "password").send_keys(PASSWORD)
            driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
            wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "[data-figure=conversations]"), seconds=20)
            # The login redirect keeps the path only: choose the seeded week with the form.
            for name, value in (("from", START.isoformat()), ("to", END.isoformat())):
                field = driver.find_element(By.NAME, name)
                driver.execute_script("arguments[0].value = arguments[1]", field, value)
            driver.find_element(By.CSS_SELECTOR, "form.outcome-filters button[type=submit]").click()
            wait_for(lambda: f"from={START.isoformat()}" in driver.current_url, seconds=20)
            assert driver.find_element(By.CSS_SELECTOR, "h1").text == "Guidance outcomes"
            assert driver.find_element(By.CSS_SELECTOR, "[data-figure=conversations]").text == "24"
            assert driver.find_element(By.CSS_SELECTOR, "[data-figure=median_wait]").text == "4.0 min"
            images = driver.find_elements(By.CSS_SELECTOR, ".outcome-charts img")
            assert len(images) == 3
            wait_for(
                lambda: all(
                    driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", i)
                    for i in images
                ),
                seconds=30,
            )
            languages = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#table-languages tbody tr")]
            assert languages == ["fi 13", "en 6", "sv 5"]
            outcomes = {
                row.find_elements(By.TAG_NAME, "td")[0].text: row.find_elements(By.TAG_NAME, "td")[1].text
                for row in driver.find_elements(By.CSS_SELECTOR, "#table-outcomes tbody tr")
            }
            assert outcomes["Referred by counsellor"] == "7" and outcomes["Offline message left"] == "<5"
            page = driver.page_source
            for fragment in PII_FRAGMENTS:
                assert fragment not in page
            screenshot(driver, "outcomes-dashboard")
            driver.execute_script("document.getElementById('table-outcomes').scrollIntoView()")
            screenshot(driver, "outcomes-dashboard-tables")
        finally:
            driver.quit()

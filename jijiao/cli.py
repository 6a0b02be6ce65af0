"""`jijiao` command line: run the product and its chores."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from infra.clock import SystemClock
from infra.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from infra.pii import Pii
    from infra.registry_import import ImportReport, RosterError


async def _serve(settings: Settings) -> None:
    from jijiao.app import running

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running(settings) as runtime:
        if runtime.localchat is not None:
            print(f"Open {runtime.local_url}", flush=True)
        else:
            print(f"Web view on {settings.base_url}/ (Telegram bot running)", flush=True)
        await stop.wait()
    print("Stopped.", flush=True)


def _pii(settings: Settings) -> Pii:
    from infra.pii import Pii
    from infra.signing import Signer

    return Pii.from_signer(Signer(settings.secret_key(), settings.previous_keys()))


async def _migrate(settings: Settings) -> None:
    from infra.db import apply_migrations

    # With the key: ID numbers and phones an older version stored in plaintext are sealed.
    await apply_migrations(settings.database_url, _pii(settings))
    print("Database is up to date.")


def _progress_bar(name: str) -> Callable[[int, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        filled = 30 * done // total if total else 30
        end = "\n" if done >= total else ""
        bar = "#" * filled + "." * (30 - filled)
        print(f"\r{name} [{bar}] {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def _summary(name: str, report: ImportReport) -> str:
    lines = [
        f"{name}: {report.total} rows: {report.new} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.rejected} rejected."
    ]
    if report.rejection_path is not None:
        lines.append(f"Rejected rows and reasons: {report.rejection_path}")
    return "\n".join(lines)


def _report_json(path: Path, report: ImportReport) -> str:
    return json.dumps(
        {
            "file": str(path),
            "run_id": report.run_id,
            "total": report.total,
            "new": report.new,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
            "rejection_file": str(report.rejection_path) if report.rejection_path else None,
        },
        ensure_ascii=False,
    )


def _describe(error: RosterError) -> str:
    params = error.params
    if error.code == "no_header":
        names = params.get("missing_names")
        missing = ", ".join(map(str, names)) if isinstance(names, list) else ""
        return f"no header row found; missing columns: {missing}"
    if error.code == "unsupported_file":
        return f"unsupported file type {params.get('suffix')}: use .xlsx or .csv"
    return f"cannot read the file ({params.get('reason')})"


async def _import_registry(settings: Settings, path: Path, as_json: bool) -> int:
    from infra.db import open_database
    from infra.registry_import import RosterError, import_registry

    pii = _pii(settings)
    context = await open_database(settings.database_url, pii)
    try:
        report = await import_registry(
            path,
            pii=pii,
            clock=SystemClock(),
            source="cli",
            progress=None if as_json else _progress_bar(path.name),
        )
    except RosterError as exc:
        message = _describe(exc)
        print(f"jijiao: {path}: {message}", file=sys.stderr)
        if as_json:
            print(json.dumps({"file": str(path), "error": exc.code, "message": message}))
        return 2
    finally:
        await context.close_connections()
    print(_report_json(path, report) if as_json else _summary(path.name, report))
    return 0


async def _wechat_menu(settings: Settings) -> int:
    from wechat.api import ApiConfig, WeChatApi
    from wechat.channel import WeChatReplies
    from wechat.menu import publish_menu

    wechat = settings.wechat_channel
    if wechat is None:
        print(
            "jijiao: wechat-menu: set WECHAT_APPID, WECHAT_APPSECRET, WECHAT_TOKEN", file=sys.stderr
        )
        return 2
    api = WeChatApi(ApiConfig(wechat.appid, wechat.appsecret, wechat.api_base), SystemClock())
    try:
        await publish_menu(api, WeChatReplies(settings.base_url))
    except Exception as exc:  # one line for the operator: WeChat's error code or the network's
        print(f"jijiao: wechat-menu: {exc}", file=sys.stderr)
        return 1
    finally:
        await api.close()
    print("WeChat custom menu published.")
    return 0


async def _seed_demo(settings: Settings) -> int:
    from infra.db import open_database
    from infra.demo import seed_demo

    pii = _pii(settings)
    context = await open_database(settings.database_url, pii)
    try:
        report = await seed_demo(SystemClock(), settings.app.data_dir, pii)
    finally:
        await context.close_connections()
    print(_summary("Demo registry", report))
    return 0


async def _rotate_key(settings: Settings, batch: int) -> int:
    from application.key_rotation import rotate, verify
    from application.study import FaceStore
    from infra.db import open_database
    from infra.pii import Pii, PiiUnreadable
    from infra.signing import Signer

    signer = Signer(settings.secret_key(), settings.previous_keys())
    pii = Pii.from_signer(signer)
    faces = FaceStore(
        settings.app.data_dir / "faces",
        signer.key_for("faces"),
        signer.previous_keys_for("faces"),
    )
    if not signer.rotating:
        print("rotate-key: SECURITY_PREVIOUS_KEYS is empty: nothing to move, checking only")

    def progress(table: str, done: int, total: int) -> None:
        print(f"rotate-key: {table} {done}/{total}", flush=True)

    try:
        context = await open_database(settings.database_url, pii)
    except PiiUnreadable:
        print(
            "jijiao: rotate-key: the registry opens with no key of the ring: put the key it was "
            "sealed with in SECURITY_PREVIOUS_KEYS (the new one in SECURITY_SECRET_KEY)",
            file=sys.stderr,
        )
        return 1
    try:
        moved = await rotate(pii, faces, signer=signer, batch=batch, progress=progress)
        checked = await verify(pii, faces, batch=batch)
    finally:
        await context.close_connections()
    for table, count in moved.moved.items():
        done = "printed tags kept" if table == "receipt" else "moved to the new key"
        print(f"rotate-key: {table}: {count} of {moved.seen[table]} {done}")
    if not checked.ok:
        for table, keys in checked.failed.items():
            shown = ", ".join(keys[:20]) + (", ..." if len(keys) > 20 else "")
            print(
                f"jijiao: rotate-key: {table}: {len(keys)} do not open with SECURITY_SECRET_KEY "
                f"alone ({shown}). Is every instance running with the new key? Run rotate-key "
                "again; if they stay, no key of the ring opens them: keep SECURITY_PREVIOUS_KEYS",
                file=sys.stderr,
            )
        return 1
    print(
        "rotate-key: verified: every sealed value and face file opens with SECURITY_SECRET_KEY "
        "alone. Remove SECURITY_PREVIOUS_KEYS once sessions and links signed before have "
        "expired (docs/operations.md)."
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jijiao",
        description="继教 jijiao: continuing education in one chat. "
        "Settings come from the environment (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "run",
        help="migrate, then start the bot, web view and workers",
        description="Apply migrations, then start the bot, web view and workers. Without "
        "TELEGRAM_BOT_TOKEN the local chat stands in for Telegram.",
    )
    commands.add_parser(
        "migrate",
        help="apply database migrations",
        description="Apply the committed database migrations to DATABASE_URL.",
    )
    roster = commands.add_parser(
        "import-registry",
        help="import the roster exported from the provincial supervision system",
        description="Apply migrations, then import a roster (.xlsx or .csv in UTF-8 or GB18030) "
        "into the registry. Rows that cannot be imported are listed with their reasons in "
        "<file>.rejected.csv next to the input. Exit status 0 when the import ran (even with "
        "rejected rows), 2 when the file cannot be read. See docs/registry-import.md.",
    )
    roster.add_argument("file", type=Path, metavar="FILE", help="roster .xlsx or .csv")
    roster.add_argument(
        "--json", action="store_true", help="print one JSON object with the counts on stdout"
    )
    commands.add_parser(
        "seed-demo",
        help="load the demo registry (idempotent)",
        description="Apply migrations, then write the demo roster (dates relative to today) "
        "to APP_DATA_DIR and import it. Running it again the same day changes nothing.",
    )
    rotation = commands.add_parser(
        "rotate-key",
        help="move every sealed value and face file to SECURITY_SECRET_KEY",
        description="With the new key in SECURITY_SECRET_KEY and the old one in "
        "SECURITY_PREVIOUS_KEYS (the app keeps running on both), seal again every ID number, "
        "phone, queued support text and conversation record, and encrypt again every face file, "
        "under the new key, in batches; then check that everything opens with the new key alone. "
        "Safe to stop and run again: what is done is skipped. Exit status 0 when verified, 1 when "
        "something still needs an old key. See docs/operations.md.",
    )
    rotation.add_argument(
        "--batch", type=int, default=200, help="rows per transaction (default 200)"
    )
    commands.add_parser(
        "wechat-menu",
        help="publish the WeChat Official Account's custom menu",
        description="Build the custom menu from the main menu's choices and publish it "
        "(cgi-bin/menu/create) with WECHAT_APPID and WECHAT_APPSECRET. Exit status 0 when "
        "WeChat took it, 1 otherwise, 2 when the WeChat channel is not configured.",
    )
    faces = commands.add_parser(
        "face-verify",
        help="compare a selfie with an enrolment photo (the production face check)",
        description="Run the face check used in production (quality gate, detection, alignment, "
        "embedding, threshold) and print one JSON object: match, score, threshold, reason (a "
        "quality refusal code or null). Exit status 0 on a match, 1 otherwise, 2 when a file "
        "cannot be read. Models are converted once into APP_DATA_DIR/models. See docs/faces.md.",
    )
    faces.add_argument("reference", type=Path, metavar="REFERENCE_PHOTO")
    faces.add_argument("probe", type=Path, metavar="PROBE_PHOTO")
    faces.add_argument("--threshold", type=float, help="cosine threshold (default: docs/faces.md)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"jijiao: invalid setting {exc.name}: {exc.problem}", file=sys.stderr)
        return 2
    from infra.logging import setup_logging

    setup_logging(settings.app.log_level, settings.app.log_format)
    try:
        return _command(args, settings)
    except SettingsError as exc:  # found while starting: the same one line as above
        print(f"jijiao: invalid setting {exc.name}: {exc.problem}", file=sys.stderr)
        return 2


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        asyncio.run(_serve(settings))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "import-registry":
        return asyncio.run(_import_registry(settings, args.file.resolve(), args.json))
    elif args.command == "seed-demo":
        return asyncio.run(_seed_demo(settings))
    elif args.command == "rotate-key":
        return asyncio.run(_rotate_key(settings, max(1, args.batch)))
    elif args.command == "wechat-menu":
        return asyncio.run(_wechat_menu(settings))
    elif args.command == "face-verify":
        from infra.faces import ModelError, verify_files

        try:
            result = verify_files(
                args.reference, args.probe, settings.app.data_dir / "models", args.threshold
            )
        except (OSError, ModelError) as exc:
            print(f"jijiao: face-verify: {exc}", file=sys.stderr)
            return 2
        if result.photo is not None:
            print(f"jijiao: the {result.photo} photo was refused: {result.reason}", file=sys.stderr)
        print(json.dumps(result.as_json()))
        return 0 if result.match else 1
    return 0

"""`jijiao` command line: run the product and its chores."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from infra.settings import Settings, SettingsError, load_settings


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


async def _migrate(settings: Settings) -> None:
    from infra.db import apply_migrations

    await apply_migrations(settings.database_url)
    print("Database is up to date.")


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
    if args.command == "run":
        asyncio.run(_serve(settings))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    return 0

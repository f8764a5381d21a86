"""`mentor-notify push ...`: push delivery housekeeping."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from mentor_notify.commands import common

if TYPE_CHECKING:
    from mentor_notify.composition import Runtime
    from mentor_notify.push import StaleToken
    from mentor_notify.push.dispatcher import DispatchResult
    from mentor_notify.push.outbox import DeadPush
    from mentor_notify.reregistration import ReregistrationResult

app = typer.Typer(help="Push delivery: the dispatcher, the emulator, device tokens, dead pushes.")


@app.callback(no_args_is_help=True)
def _push() -> None:
    """Push delivery: the dispatcher, the emulator, device tokens, dead pushes."""


@app.command("dispatch")
def push_dispatch(
    ctx: typer.Context,
    once: Annotated[
        bool,
        typer.Option("--once", help="Send what is due now, then stop (default: keep draining)."),
    ] = False,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            max=1000,
            help="Sends in flight at once (default: MENTOR_NOTIFY_PUSH_CONCURRENCY, 100).",
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option("--metrics-host", help="Address of GET /metrics.")
    ] = "127.0.0.1",
    metrics_port: Annotated[
        int,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="Serve Prometheus metrics at GET /metrics on this port (0: do not).",
        ),
    ] = 0,
    emulator: common.EmulatorOption = None,
    as_json: common.JsonOption = False,
) -> None:
    """Drain the push outbox: claim due messages, send them, record the outcomes.

    Messages are claimed under a lease with FOR UPDATE SKIP LOCKED, so any
    number of dispatchers can run side by side; a dispatcher that dies leaves
    its messages to be claimed again when the lease runs out. Retryable
    failures (429, 500, 503) come back after an exponential backoff with
    jitter, honouring Retry-After; after MENTOR_NOTIFY_PUSH_MAX_ATTEMPTS they
    are dead (see `push dead`). Tokens the service calls unregistered are
    deleted. SIGTERM or Ctrl-C finishes the sends in flight and stops.
    Exit status 1 when a message failed or died in this run.
    """
    from rich.table import Table

    from mentor_notify.commands.http_server import CannotListen
    from mentor_notify.composition import open_runtime
    from mentor_notify.config import ConfigurationError
    from mentor_notify.push.senders import PushConfigurationError

    settings = common.state(ctx).settings
    if concurrency is not None:
        settings = settings.model_copy(update={"push_concurrency": concurrency})

    async def work(url: str) -> DispatchResult:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            async with open_runtime(url, settings, emulator=emulator) as runtime:
                if not runtime.senders:
                    raise PushConfigurationError(
                        "no push service is configured: set MENTOR_NOTIFY_FCM_CREDENTIALS_FILE "
                        "and/or MENTOR_NOTIFY_APNS_KEY_FILE (or name Supabase Vault secrets, "
                        "see `mentor-notify config`), or use --emulator URL"
                    )
                dispatcher = runtime.dispatcher()
                async with serving_metrics(runtime, metrics_host, metrics_port):
                    if once:
                        return await dispatcher.run_once(stop=stop)
                    return await dispatcher.run_until(stop)
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    try:
        result = common.run_with_database(ctx, work)
    except (ConfigurationError, CannotListen) as exc:
        raise common.fail(str(exc)) from exc
    if as_json:
        common.print_json(result.model_dump(mode="json"))
    else:
        table = Table(title="Push dispatch", title_justify="left")
        for column in (
            "claimed",
            "folded",
            "held",
            "sent",
            "retrying",
            "failed",
            "dead",
            "tokens removed",
        ):
            table.add_column(column, justify="right")
        table.add_row(
            *(
                str(v)
                for v in (
                    result.claimed,
                    result.folded,
                    result.held + result.budget_held,
                    result.sent,
                    result.retrying,
                    result.failed,
                    result.dead,
                    result.tokens_removed,
                )
            )
        )
        common.stdout().print(table)
    if result.failed or result.dead:
        raise typer.Exit(1)


@contextlib.asynccontextmanager
async def serving_metrics(runtime: Runtime, host: str, port: int) -> AsyncIterator[None]:
    """GET /metrics on `host:port` while the block runs (nothing when `port` is 0)."""
    if not port:
        yield
        return
    from mentor_notify.commands.http_server import HttpServer, listen
    from mentor_notify.metrics.http import create_metrics_app

    sock = listen(host, port, option="--metrics-port")
    app = create_metrics_app(runtime.metrics, runtime.gauges(), "mentor-notify push dispatch")
    server = HttpServer(app, host, port)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield
    finally:
        server.stop()
        await serving


@app.command("reregister")
def push_reregister(
    ctx: typer.Context,
    organisation: common.OrganisationOption = None,
    emulator: common.EmulatorOption = None,
    as_json: common.JsonOption = False,
) -> None:
    """Send the silent re-registration push to devices not refreshed for 30 days.

    A background push (APNs background notification, FCM data-only message at
    normal priority) asking the app to upload its current token; it shows
    nothing and never counts against the person's daily push budget. Only for
    organisations with reregistration_push on (--organization narrows them);
    each device gets it at most once a week, so running this again the same
    week sends nothing. The worker's daily cycle does the same. A token the
    service calls dead is deleted. Exit status 1 when a push was refused.
    """
    from rich.table import Table

    from mentor_notify.composition import open_runtime
    from mentor_notify.config import ConfigurationError
    from mentor_notify.push.senders import PushConfigurationError

    settings = common.state(ctx).settings

    async def work(url: str) -> ReregistrationResult:
        async with open_runtime(url, settings, emulator=emulator) as runtime:
            reregistration = runtime.reregistration()
            if reregistration is None:
                raise PushConfigurationError(
                    "no push service is configured: set MENTOR_NOTIFY_FCM_CREDENTIALS_FILE "
                    "and/or MENTOR_NOTIFY_APNS_KEY_FILE, or use --emulator URL"
                )
            return await reregistration.run(organisation)

    try:
        result = common.run_with_database(ctx, work)
    except ConfigurationError as exc:
        raise common.fail(str(exc)) from exc
    if as_json:
        common.print_json(result.model_dump(mode="json"))
    else:
        table = Table(title=f"Re-registration push, week of {result.week_start}")
        for column in ("devices", "sent", "refused", "tokens removed"):
            table.add_column(column, justify="right")
        table.add_row(
            *(str(v) for v in (result.taken, result.sent, result.failed, result.tokens_removed))
        )
        common.stdout().print(table)
    if result.failed:
        raise typer.Exit(1)


@app.command("emulator")
def push_emulator(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8787,
    project: Annotated[
        str, typer.Option("--project", help="The FCM project id it accepts.")
    ] = "mentor-notify-emulator",
    rate_limited: Annotated[
        float,
        typer.Option("--rate-limited", min=0, max=1, help="Share answered 429."),
    ] = 0.0,
    unavailable: Annotated[
        float, typer.Option("--unavailable", min=0, max=1, help="Share answered 503.")
    ] = 0.0,
    internal: Annotated[
        float, typer.Option("--internal", min=0, max=1, help="Share answered 500.")
    ] = 0.0,
    slow: Annotated[
        float, typer.Option("--slow", min=0, max=1, help="Share answered after a delay.")
    ] = 0.0,
    drop: Annotated[
        float,
        typer.Option("--drop", min=0, max=1, help="Share whose connection is dropped unanswered."),
    ] = 0.0,
    slow_seconds: Annotated[
        float, typer.Option("--slow-seconds", min=0, help="How long a slow answer takes.")
    ] = 2.0,
    retry_after: Annotated[
        int, typer.Option("--retry-after", min=0, help="Retry-After seconds on 429 answers.")
    ] = 1,
) -> None:
    """Serve local stand-ins for FCM HTTP v1, APNs and Google's token endpoint.

    Requests are checked as the real services check them (credentials,
    payload shape, token format, headers) and refused with their real error
    bodies. Failures can be injected at random with the rate options, or per
    token with POST /emulator/script {"token": ..., "answer": "unregistered" |
    "rate_limited" | "unavailable" | "internal" | "slow" | "drop", "times": N}.
    GET /emulator/deliveries shows what was delivered; POST /emulator/reset
    forgets it. Point a dispatcher at it with `push dispatch --emulator URL`.
    Stops on Ctrl-C or SIGTERM. Needs the `testing` extra.
    """
    common.state(ctx)  # logging as the settings say
    try:
        from mentor_notify_testing.emulator import Emulator, EmulatorServer, FailureRates
    except ImportError as exc:
        raise common.testing_extra_missing("the push emulator", exc) from exc
    state = Emulator(
        project_id=project,
        rates=FailureRates(rate_limited, unavailable, internal, slow, drop),
        retry_after_seconds=retry_after,
        slow_seconds=slow_seconds,
    )

    async def serve() -> None:
        server = EmulatorServer(state)
        bound = await server.start(host, port)
        common.stderr().print(f"push emulator listening on http://{host}:{bound}", highlight=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        serving = asyncio.create_task(server.serve_forever())
        await stop.wait()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await server.close()

    try:
        asyncio.run(serve())
    except OSError as exc:
        raise common.fail(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


@app.command("stale-tokens")
def push_stale_tokens(
    ctx: typer.Context,
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            max=3650,
            help="Not refreshed for at least this many days "
            "(default: the age at which the data-quality report calls a device stale).",
        ),
    ] = None,
    as_json: common.JsonOption = False,
) -> None:
    """List device tokens the app has not refreshed for a while.

    The app registers its token at every launch, so a token left unrefreshed
    usually belongs to an app that was removed or a phone no longer used:
    pushes to it are likely lost (ticket 000's contingency). Lists ids, owners,
    platforms and dates; never the tokens themselves.
    """
    from rich.table import Table

    from mentor_notify.db import connect
    from mentor_notify.push import DeviceTokenRepository
    from mentor_notify.push.tokens import STALE_TOKEN_AGE

    age = STALE_TOKEN_AGE if days is None else timedelta(days=days)
    days = age.days

    async def work(url: str) -> list[StaleToken]:
        conn = await connect(url)
        try:
            return await DeviceTokenRepository(conn).stale(age, datetime.now(UTC))
        finally:
            await conn.close()

    stale = common.run_with_database(ctx, work)
    if as_json:
        common.print_json([t.model_dump(mode="json") for t in stale])
        return
    if not stale:
        common.stdout().print(f"No device token has gone {days} days without a refresh.")
        return
    table = Table(title=f"Device tokens not refreshed for {days} days", title_justify="left")
    for column in ("token id", "user", "platform", "provider", "last refreshed"):
        table.add_column(column)
    for token in stale:
        table.add_row(
            str(token.id),
            str(token.user_id),
            token.platform,
            token.provider,
            f"{token.last_refreshed_at:%Y-%m-%d}",
        )
    common.stdout().print(table)


@app.command("dead")
def push_dead(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="List at most this many.")] = 100,
    as_json: common.JsonOption = False,
) -> None:
    """List pushes whose retries are exhausted (newest first).

    Re-queue them with `mentor-notify push retry ID...` once the cause (for
    instance a push service outage) is over.
    """
    from rich.table import Table

    from mentor_notify.db import open_pool
    from mentor_notify.push.outbox import Outbox, worker_name

    async def work(url: str) -> list[DeadPush]:
        async with open_pool(url, common.state(ctx).settings) as pool:
            return await Outbox(pool, worker_name()).dead(limit)

    dead = common.run_with_database(ctx, work)
    if as_json:
        common.print_json([d.model_dump(mode="json") for d in dead])
        return
    if not dead:
        common.stdout().print("No dead pushes.")
        return
    table = Table(title="Dead pushes", title_justify="left")
    for column in ("push id", "recipient", "attempts", "last error", "queued"):
        table.add_column(column)
    for push in dead:
        table.add_row(
            str(push.id),
            str(push.recipient_id),
            str(push.attempts),
            push.last_error or "",
            f"{push.created_at:%Y-%m-%d %H:%M}",
        )
    common.stdout().print(table)


@app.command("retry")
def push_retry(
    ctx: typer.Context,
    ids: Annotated[list[UUID], typer.Argument(metavar="ID...", help="Push ids (see push dead).")],
    as_json: common.JsonOption = False,
) -> None:
    """Queue dead or failed pushes again, due now, with their attempts reset."""
    from mentor_notify.db import open_pool
    from mentor_notify.push.outbox import Outbox, worker_name

    async def work(url: str) -> list[UUID]:
        async with open_pool(url, common.state(ctx).settings) as pool:
            return await Outbox(pool, worker_name()).retry(ids, datetime.now(UTC))

    requeued = common.run_with_database(ctx, work)
    missing = [i for i in ids if i not in set(requeued)]
    if as_json:
        common.print_json(
            {"requeued": [str(i) for i in requeued], "not_found": [str(i) for i in missing]}
        )
    else:
        common.stdout().print(f"Re-queued {len(requeued)} push(es).")
        for push_id in missing:
            common.stderr().print(f"not dead or failed, left alone: {push_id}", highlight=False)
    if missing:
        raise typer.Exit(1)

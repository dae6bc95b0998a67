"""The kiosk's background job: end expired sessions and forget their node keys.

Logins sweep too, but an officer who walks away from the kiosk leaves an
idle session nobody comes back to; without this job its node key would stay
in memory until the next login.
"""

from __future__ import annotations

from channels.kiosk import officer_keys, sessions, training
from gateway import clock
from gateway.web.sessions import Sessions, Timeouts

SWEEP_SECONDS = 60


def sweep_sessions(node, timeouts: Timeouts) -> None:  # noqa: ANN001 - gateway.node.Node
    """Delete expired sessions, then keep only the keys of the sessions left."""
    Sessions(sessions.table(node.store), timeouts).purge_expired()
    officer_keys.sweep(node)


def register(scheduler, app) -> None:  # noqa: ANN001 - APScheduler and Flask objects
    from gateway.app import node_of

    def job() -> None:
        node = node_of(app)
        sweep_sessions(node, sessions.timeouts(node.config))
        # practice of sessions that ended ends too; a 24-hour-old training database is wiped
        training.of(app).sweep(officer_keys.live_sessions(node.store.read()))

    scheduler.add_job(job, "interval", seconds=SWEEP_SECONDS, id="kiosk-sessions", next_run_time=clock.now())

"""Resume, Retry and Cancel on the detail page: the library's own calls, refused alike."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from planner.db import Database, Generation
from tests.rows import generation
from tests.test_dashboard_apptest import logged_in, page, texts


def _open_detail(home_db: Database, status: str, username: str = "alice"):  # noqa: ANN202
    at, alice = logged_in(home_db, username)
    gid = generation(
        home_db, alice.id, status=status, tier=None if status != "failed" else "failed"
    )
    at.query_params["id"] = str(gid)
    at.switch_page(page("detail")).run()
    assert not at.exception, at.exception
    return at, alice, gid


def test_retry_starts_a_new_generation_with_the_failed_ones_request(home_db: Database) -> None:
    at, alice, failed = _open_detail(home_db, "failed")
    assert [b.label for b in at.button if b.key == "detail_retry"] == ["Retry"]
    at.button(key="detail_retry").click().run()
    assert not at.exception, at.exception
    assert "with the same request" in texts(at)
    rows = home_db.in_session(
        lambda s: s.execute(
            select(Generation.id, Generation.description, Generation.strategy).where(
                Generation.user_id == alice.id
            )
        ).all()
    )
    assert len(rows) == 2
    [new] = [r for r in rows if r.id != failed]
    [old] = [r for r in rows if r.id == failed]
    assert (new.description, new.strategy) == (old.description, old.strategy)
    # The retried run belongs to the dashboard's service: stop it before the test's
    # database goes away.
    from planner.dashboard.resources import service

    service().cancel(new.id)
    assert service().wait(new.id, timeout=120).status in {"failed", "completed"}


def test_resume_is_offered_only_for_an_interrupted_generation_and_queues_it(
    home_db: Database,
) -> None:
    completed, _, _ = _open_detail(home_db, "completed", "carol")
    assert not [b for b in completed.button if b.key in ("detail_resume", "detail_retry")]
    at, alice, gid = _open_detail(home_db, "interrupted")
    at.button(key="detail_resume").click().run()
    assert not at.exception, at.exception
    assert "Resuming" in texts(at), texts(at)
    count = home_db.in_session(lambda s: s.scalar(select(func.count()).select_from(Generation)))
    assert count == 2  # the resume continues the same generation, it makes no new one
    from planner.dashboard.resources import service

    service().cancel(gid)  # the dashboard's service runs it: stop it with the test
    assert service().wait(gid, timeout=120).status in {"failed", "completed", "interrupted"}


def test_on_postgresql_the_experiments_page_enqueues_its_runs_and_stops_them_from_here(
    postgres: Database,
    planner_home,
    monkeypatch,  # noqa: ANN001
) -> None:
    """With PostgreSQL an experiment from the dashboard is jobs for the workers, as from
    the CLI (no thread of the dashboard runs it); its Stop cancels the runs no worker has
    begun, whichever process runs the rest (here no worker runs: all are cancelled)."""
    from sqlalchemy import text

    from planner import analysis
    from planner.config import reset_settings
    from planner.dashboard import experiment_jobs

    monkeypatch.setenv("PLANNER_DATABASE_URL", postgres.url)
    reset_settings()
    at, alice = logged_in(postgres, "alice")
    at.switch_page(page("experiments")).run()
    at.multiselect(key="exp_faults").set_value(["drop-at-90"])
    at.multiselect(key="exp_strategies").set_value(["resume", "oracle"])
    at.button(key="exp_start").click().run()
    assert not at.exception, at.exception
    experiment_id = at.session_state["experiment_selected"]
    assert experiment_jobs.job_for(uuid.UUID(experiment_id), alice.id) is None
    jobs = postgres.read(
        lambda conn: conn.execute(
            text(
                "SELECT j.status::text, count(*) FROM procrastinate_jobs j JOIN experiment_runs r"
                " ON j.args->>'run_id' = r.id::text WHERE r.experiment_id = :eid GROUP BY 1"
            ),
            {"eid": experiment_id},
        ).all()
    )
    assert dict(jobs) == {"todo": 4}  # resume's two generations, the oracle's two runs
    assert "any `planner worker` runs them" in texts(at)
    at.button(key="exp_stop").click().run()
    assert not at.exception, at.exception
    status = postgres.read(
        lambda conn: (
            conn.execute(
                text("SELECT status FROM experiment_runs WHERE experiment_id = :eid"),
                {"eid": experiment_id},
            )
            .scalars()
            .all()
        )
    )
    assert status == ["cancelled"] * 4
    assert analysis.experiment_status(postgres, uuid.UUID(experiment_id)) == "interrupted"
    at.run()
    assert not at.exception, at.exception
    assert "exp_stop" not in [b.key for b in at.button]

"""Resume, Retry and Cancel on the detail page: the library's own calls, refused alike."""

from __future__ import annotations

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

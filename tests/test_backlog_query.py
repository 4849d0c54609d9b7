"""The backlog is ranked and filtered in SQL; these check it against the rule written
out in Python, on SQLite and PostgreSQL, and that a listing's cost in statements does
not grow with the backlog."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func
from sqlmodel import col, select

from bot.core.clock import FrozenClock
from bot.runtime.app import OpsBot
from storage import topics as topic_store
from storage.db import transaction
from storage.models import Topic, Vote
from storage.topics import PRIORITY_RANK, BacklogFilter
from tests.conftest import BotFactory, make_settings
from tests.sql_counting import statements

START = datetime(2026, 11, 1, tzinfo=UTC)
TAGS = ("促销", "节日", "Tag", "tag", "双十一")
MEMBERS = ("alice", "bob", "carol", "dave")


def _fill(bot: OpsBot, count: int, seed: int) -> list[Topic]:
    """`count` random topics with random votes, cast as the bot casts them."""
    chance = random.Random(seed)
    with transaction(bot.engine) as session:
        topics = []
        for n in range(count):
            rating = [chance.randint(1, 5) for _ in range(3)]
            topic = Topic(
                team_id="content", title=f"选题 {n}", tags=chance.sample(TAGS, chance.randint(0, 3)),
                platform=chance.choice([None, "wechat", "douyin"]), timeliness=rating[0],
                value=rating[1], conversion=rating[2], score=chance.choice([2.5, 3.0, 3.5, 4.0]),
                priority=chance.choice(list(PRIORITY_RANK)), created_by=chance.choice(MEMBERS),
                status=chance.choice(["idea", "idea", "scheduled", "dropped"]),
                created_at=START + timedelta(minutes=chance.randint(0, 50)), updated_at=START,
            )  # fmt: skip
            session.add(topic)
            topics.append(topic)
        session.flush()
        session.expunge_all()
        for topic in topics:
            assert topic.id is not None
            for member in chance.sample(MEMBERS, chance.randint(0, 3)):
                topic_store.add_vote(session, topic_id=topic.id, member_id=member, now=START)
    return topics


def _votes_cast(bot: OpsBot) -> dict[int, int]:
    """Each topic's votes, counted from the votes themselves."""
    with bot.engine.connect() as connection:
        counted = connection.execute(
            select(Vote.topic_id, func.count()).group_by(col(Vote.topic_id))
        )
        return {topic_id: count for topic_id, count in counted}


def _expected(topics: list[Topic], votes: dict[int, int], wanted: BacklogFilter) -> list[int]:
    chosen = [
        topic
        for topic in topics
        if (wanted.statuses is None or topic.status in wanted.statuses)
        and (wanted.created_by is None or topic.created_by == wanted.created_by)
        and (wanted.platform is None or topic.platform == wanted.platform)
        and (not wanted.priorities or topic.priority in wanted.priorities)
        and all(tag in topic.tags for tag in wanted.tags)
    ]
    chosen.sort(
        key=lambda t: (PRIORITY_RANK[t.priority], -t.score, -votes[t.id or 0], t.created_at, t.id)
    )
    return [topic.id or 0 for topic in chosen]


def test_the_backlog_order_and_filters_match_the_rule(database_url: str) -> None:
    bot = OpsBot.open(make_settings(database_url), FrozenClock(START))
    try:
        topics = _fill(bot, 150, seed=7)
        votes = {topic.id or 0: 0 for topic in topics} | _votes_cast(bot)
        assert sum(votes.values()) > 100
        with transaction(bot.engine) as session:
            filters = [
                BacklogFilter(),
                BacklogFilter(statuses=None),
                BacklogFilter(created_by="bob"),
                BacklogFilter(platform="wechat", priorities=("high", "low")),
                BacklogFilter(tags=("促销",)),
                BacklogFilter(tags=("Tag", "节日"), statuses=None),
                BacklogFilter(tags=("没有",)),
            ]
            for wanted in filters:
                expected = _expected(topics, votes, wanted)
                rows, total = topic_store.backlog_page(
                    session, team_id="content", wanted=wanted, limit=30
                )
                assert [row.id for row in rows] == expected[:30], wanted
                assert total == len(expected), wanted
                assert all(row.votes == votes[row.id] for row in rows)
    finally:
        bot.engine.dispose()


def test_a_listing_runs_as_many_statements_for_300_topics_as_for_3(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    counts = []
    for size in (3, 300):
        driver = make_bot(url=f"sqlite:///{tmp_path / f'{size}.db'}")
        _fill(driver.bot, size, seed=size)
        for line in ("/topic list", "/topic list #促销", "/digest"):
            driver.send(line)  # warm: the first command of a process reads the schema
        with statements(driver.bot.engine) as seen, topics_loaded() as loaded:
            for line in ("/topic list", "/topic list all #促销 p:公众号", "/digest"):
                assert not driver.send(line).startswith("❌")
        counts.append(len(seen))
        assert loaded == []  # the lines come from the rows shown, not the whole backlog
    assert counts[0] == counts[1]


@contextmanager
def topics_loaded() -> Iterator[list[int]]:
    loaded: list[int] = []

    def record(target: Topic, _context: object) -> None:
        loaded.append(target.id or 0)

    event.listen(Topic, "load", record)
    try:
        yield loaded
    finally:
        event.remove(Topic, "load", record)


def test_the_first_page_is_read_through_the_backlog_index(database_url: str) -> None:
    """The database reads ideas in backlog order from `ix_topics_backlog` and stops after
    the page, sorting nothing (not even topics tied on priority and score, as every idea
    of a new team is), so the page costs the same at a thousand ideas as at ten."""
    bot = OpsBot.open(make_settings(database_url), FrozenClock(START))
    try:
        _fill(bot, 60, seed=3)
        statement = topic_store._backlog_statement(
            bot.engine.dialect.name, statuses=1, mine=False, platform=False,
            priorities=0, tags=0,
        )  # fmt: skip
        bound = statement.params(team_id="content", status_0="idea", limit=30)
        with bot.engine.connect() as connection:
            sql = str(bound.compile(connection, compile_kwargs={"literal_binds": True}))
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("ANALYZE topics")
                # 60 rows: a scan and a sort are cheaper than the index, but not at 1,000
                connection.exec_driver_sql("SET enable_seqscan = off")
                connection.exec_driver_sql("SET enable_bitmapscan = off")
                plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
                assert "ix_topics_backlog" in plan and "Sort" not in plan
            else:
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
                plan = "\n".join(row[-1] for row in rows)
                assert "USING INDEX ix_topics_backlog" in plan
                assert "TEMP B-TREE" not in plan  # no sort, not even of the ties
    finally:
        bot.engine.dispose()

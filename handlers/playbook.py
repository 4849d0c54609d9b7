"""`/playbook` (`/手册`): the team's lessons (成功经验 / 失败教训), kept and found again.

`/playbook add <lesson> [#tag…] [post <id>]` records one; the tags and the post are read
from the end, as a topic's options are, so a `#` inside the lesson stays in its text.
`/playbook [#tag…] [words…]` finds the newest lessons with every tag and every word;
alone, it lists the newest. The digest surfaces a lesson tagged like a post planned that
day (`handlers/digest.py`), and the monthly review lists the month's.
"""

from __future__ import annotations

from bot.core.commands import CommandFamily, Context
from bot.core.errors import CommandError
from bot.core.messages import Reply, Section, Tone
from bot.vocab.arguments import parse_id, split_tags, unquote
from handlers.campaign_tags import campaign_tag
from handlers.publish import quoted_title
from handlers.records import load_record
from storage import playbook as playbook_store
from storage.models import Lesson, Post
from storage.team_rows import get_in_team

family = CommandFamily("playbook", aliases=("手册",))

LESSON_MAX_LENGTH = 1000
SHOWN = 10  # lessons a search shows
POST_WORDS = {"post", "文章", "发布"}
CAMPAIGN_WORDS = {"campaign", "专题", "活动"}
EDIT_ROLES = ("admin", "editor")


def _lesson_line(ctx: Context, lesson: Lesson) -> str:
    tags = " ".join(f"#{tag}" for tag in lesson.tags)
    line = ctx.t("playbook.line", id=lesson.id, text=lesson.text,
                 date=ctx.local(lesson.created_at).strftime("%Y-%m-%d"))  # fmt: skip
    if tags:
        line += f" · {tags}"
    if lesson.post_id is not None:
        post = get_in_team(ctx.session, Post, team_id=ctx.team.id, row_id=lesson.post_id)
        if post is not None:
            line += ctx.t("playbook.from_post", title=quoted_title(ctx, post.title), id=post.id)
    return line


def _trailing_options(ctx: Context, args: list[str]) -> tuple[list[str], list[str], Post | None]:
    """The lesson's words, then its tags and its post, read from the end; a quoted lesson
    (`"…#x…" #tag`) keeps everything inside the quotes as its text; `campaign <name|id>`
    tags it with the campaign's name. `post` without an id, or twice, is refused rather
    than kept as text or guessed."""
    quoted, words = unquote(args)
    tags: list[str] = []
    post: Post | None = None
    while words:
        if words[-1].casefold() in POST_WORDS:
            raise CommandError("playbook.error.post_without_id", word=words[-1])
        if len(words) >= 2 and words[-2].casefold() in CAMPAIGN_WORDS:
            tags[:0] = [campaign_tag(ctx, words[-1])]  # the campaign's name, as a tag
            del words[-2:]
            continue
        if len(words) >= 2 and words[-2].casefold() in POST_WORDS:
            if post is not None:
                raise CommandError("playbook.error.two_posts")
            parse_id(words[-1])  # `post 冬至` is refused as a bad id, not kept as text
            post = load_record(ctx, Post, words[-1], not_found="publish.error.not_found")
            del words[-2:]
            continue
        found = split_tags(words[-1])
        if found is not None:
            tags[:0] = found
            words.pop()
            continue
        break
    if quoted is not None:
        if words:
            raise CommandError("errors.extra_words", words=" ".join(words)[:40])
        words = [quoted] if quoted else []
    return words, list(dict.fromkeys(tags)), post


@family.subcommand("add", "新增", "记录")
def add_lesson(ctx: Context, args: list[str]) -> Reply:
    words, tags, post = _trailing_options(ctx, args)
    text = " ".join(words).strip()
    if not text:
        raise CommandError("playbook.error.empty")
    if len(text) > LESSON_MAX_LENGTH:
        raise CommandError("playbook.error.too_long", max=LESSON_MAX_LENGTH, length=len(text))
    lesson = playbook_store.add_lesson(
        ctx.session,
        Lesson(team_id=ctx.team.id, text=text, tags=tags, post_id=post.id if post else None,
               created_by=ctx.member.id, created_at=ctx.now()),
    )  # fmt: skip
    return Reply(ctx.t("playbook.added", line=_lesson_line(ctx, lesson)), tone=Tone.SUCCESS)


@family.subcommand("delete", "删除")
def delete_lesson(ctx: Context, args: list[str]) -> Reply:
    if len(args) > 1:
        raise CommandError("playbook.error.delete_one")
    lesson = load_record(
        ctx, Lesson, args[0] if args else None, not_found="playbook.error.not_found"
    )
    if lesson.created_by != ctx.member.id and ctx.member.role not in EDIT_ROLES:
        raise CommandError("playbook.error.not_yours", show_usage=False)
    line = _lesson_line(ctx, lesson)
    ctx.session.delete(lesson)
    return Reply(ctx.t("playbook.deleted", line=line), tone=Tone.SUCCESS)


@family.default_handler(reads_only=True)
def find_lessons(ctx: Context, args: list[str]) -> Reply:
    """`[#tag…] [words…]`: the newest lessons with all of them; alone, the newest."""
    tags: list[str] = []
    words: list[str] = []
    for word in args:
        found = split_tags(word)
        if found is None:
            words.append(word)
        else:
            tags.extend(found)
    lessons, total = playbook_store.find_lessons(
        ctx.session, team_id=ctx.team.id, tags=tags, words=words, limit=SHOWN
    )
    asked = " ".join(args)
    if not lessons:
        key = "playbook.none_found" if args else "playbook.empty"
        return Reply(ctx.t(key, asked=asked[:60]))
    title = ctx.t("playbook.found" if args else "playbook.title", count=total, asked=asked[:60])
    lines = [_lesson_line(ctx, lesson) for lesson in lessons]
    if total > len(lessons):
        lines.append(ctx.t("playbook.more", count=total - len(lessons)))
    return Reply(title, sections=[Section(lines=lines)])

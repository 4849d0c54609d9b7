"""`/help` (`/帮助`): every command explained, with an example, in the team's language."""

from __future__ import annotations

from bot.core.commands import CommandFamily, Context
from bot.core.errors import CommandError
from bot.core.messages import Reply, Section

family = CommandFamily("help", aliases=("帮助",))


def family_help(ctx: Context, shown: CommandFamily) -> Reply:
    """The usage line, purpose and example of each sub-command of one family."""
    sections = []
    listed = [shown.default] if shown.default is not None else []
    listed += [sub for sub in shown.subcommands if sub is not shown.default]
    for subcommand in listed:
        key = subcommand.catalogue_key
        lines = [ctx.t(f"{key}.help")]
        if subcommand.aliases:
            lines.append(ctx.t("help.aliases", aliases=" ".join(subcommand.aliases)))
        lines.append(ctx.t("help.example_line", example=ctx.t(f"{key}.example")))
        sections.append(Section(title=ctx.t(f"{key}.usage"), lines=lines))
    title = ctx.t(
        "help.family_title",
        command=f"/{shown.name}",
        aliases=" ".join(f"/{alias}" for alias in shown.aliases),
        summary=ctx.t(f"{shown.name}.summary"),
    )
    return Reply(title, sections=sections)


WHEN_WORDS = {"when", "time", "date", "时间", "日期"}
WHEN_LINES = ("day", "part", "clock", "combine", "rules", "title_words")


def when_help(ctx: Context) -> Reply:
    """The grammar of `<when>` and `<date>`, the same table as the README's."""
    rows = [tuple(ctx.t(f"help.when.{line}").split("｜" if ctx.locale == "zh-CN" else " | ", 1))
            for line in WHEN_LINES]  # fmt: skip
    return Reply(ctx.t("help.when.title"), sections=[Section(rows=rows)])


@family.default_handler(reads_only=True)
def show_help(ctx: Context, args: list[str]) -> Reply:
    if args and args[0].casefold() in WHEN_WORDS:
        return when_help(ctx)
    if args:
        shown = ctx.router.family(args[0])
        if shown is None:
            raise CommandError("help.error.unknown", command=args[0][:40])
        return family_help(ctx, shown)
    rows: list[tuple[str, ...]] = [
        (
            f"/{shown.name}",
            " ".join(f"/{alias}" for alias in shown.aliases),
            ctx.t(f"{shown.name}.summary"),
        )
        for shown in ctx.router.families
    ]
    return Reply(
        ctx.t("help.title"),
        sections=[Section(rows=rows), Section(lines=[ctx.t("help.more")])],
    )

"""Admins manage who is in the team; everyone can ask for help."""

from __future__ import annotations

from handlers.registry import ALL_FAMILIES
from tests.conftest import BotDriver, BotFactory


def _members(bot: BotDriver) -> dict[str, str]:
    return {member["id"]: member["role"] for member in bot.export()["members"]}


def test_configured_members_are_listed_with_roles(bot: BotDriver) -> None:
    assert bot.send("/team list").splitlines() == [
        "内容组 · 4 位成员",
        "  @alice  Alice  管理员",
        "  @bob    Bob    编辑",
        "  @carol  Carol  编辑",
        "  @dave   Dave   成员",
    ]


def test_admin_adds_a_member_with_a_role(bot: BotDriver) -> None:
    assert bot.send("/team add @erin role=editor") == "✅ 已添加 erin（编辑）"
    assert bot.send("/团队 新增 @小王") == "✅ 已添加 小王（成员）"
    assert _members(bot)["erin"] == "editor"
    assert _members(bot)["小王"] == "member"
    assert bot.send("/team add @erin") == "❌ erin 已经在团队里了"


def test_admin_changes_a_role_in_english_or_chinese(bot: BotDriver) -> None:
    assert bot.send("/team role @dave editor") == "✅ Dave 的角色：成员 → 编辑"
    assert bot.send("/团队 角色 @Dave 管理员") == "✅ Dave 的角色：编辑 → 管理员"
    assert _members(bot)["dave"] == "admin"


def test_only_admins_change_the_team(bot: BotDriver) -> None:
    assert bot.send("@bob /team add @erin") == "❌ 只有管理员可以这样做"
    assert bot.send("@bob /team role @bob admin") == "❌ 只有管理员可以这样做"
    assert "erin" not in _members(bot)
    assert _members(bot)["bob"] == "editor"


def test_the_last_admin_cannot_step_down(bot: BotDriver) -> None:
    assert bot.send("/team role @alice member") == "❌ 团队至少要有一位管理员，请先任命另一位管理员"
    bot.send("/team role @bob admin")
    assert bot.send("/team role @me member").startswith("✅")
    assert _members(bot)["alice"] == "member"


def test_bad_team_input(bot: BotDriver) -> None:
    assert bot.send("/team role @zed editor") == (
        "❌ 团队里没有 @zed。现有成员：alice, bob, carol, dave。用法：/team role @成员 <admin|editor|member>"
    )
    assert bot.send("/team role @bob boss").startswith("❌ 不认识的角色「boss」")
    assert bot.send("/team add erin").startswith("❌ 缺少成员，请用 @名字 指定")
    assert set(_members(bot)) == {"alice", "bob", "carol", "dave"}


def test_first_speaker_of_a_team_without_members_becomes_admin(make_bot: BotFactory) -> None:
    bot = make_bot(team={"members": []})

    bot.send("@solo /team list")
    # Once the team has a member, only members speak on the console.
    assert bot.send("@second /team list").startswith("❌ 团队里没有 @second")
    assert _members(bot) == {"solo": "admin"}

    bot.send("@solo /team add @second")
    assert _members(bot) == {"solo": "admin", "second": "member"}


def test_help_lists_every_command_family(bot: BotDriver) -> None:
    help_text = bot.send("/help")

    lines = help_text.splitlines()
    assert lines[0] == "opsbot 能做这些："
    families = [[f"/{f.name}", f"/{f.aliases[0]}"] for f in ALL_FAMILIES]
    assert len(families) == 12  # SPEC §3 and §9 (playbook, calendar, campaign), help included
    assert [line.split()[:2] for line in lines[1 : len(families) + 1]] == families


def test_help_for_one_family_explains_every_sub_command_with_an_example(bot: BotDriver) -> None:
    help_text = bot.send("/help topic")

    for usage in ("/topic add", "/topic hot", "/topic list", "/topic vote", "/topic score",
                  "/topic edit", "/topic drop", "/topic schedule"):  # fmt: skip
        assert usage in help_text
    assert help_text.count("例：") == 9  # add hot list vote unvote score edit drop schedule
    assert bot.send("/帮助 选题") == help_text
    assert bot.send("/topic") == help_text
    assert bot.send("/help nothing") == "❌ 没有 nothing 这个命令。用法：/help [命令]"


def test_help_in_english(bot_en: BotDriver) -> None:
    help_text = bot_en.send("/help team")

    assert help_text.splitlines()[0] == "/team /团队 · team members and roles"
    assert "Example: /team add @dave role=editor" in help_text

# ruff: noqa: RUF001 - the Chinese page's labels are written with Chinese punctuation
"""The public odds page (pointkit.pages.odds_page) and the `pointkit odds` command."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit import FixedClock, MemoryStorage
from pointkit.cli import main
from pointkit.exceptions import InvalidArgumentError, InvariantViolation, NaiveDatetimeError
from pointkit.pages import odds_document, odds_file_name, odds_page
from pointkit.pricing import Lottery, Pity, Prize, ProvablyFair, SeededRandom
from pointkit.program import Program, load_config
from pointkit.storage.sqlite import SQLiteStorage
from test_pages import Element, parse


if TYPE_CHECKING:
    from pointkit.ledger import Storage


MALL = Path(__file__).parent.parent / "examples" / "points_mall.toml"
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
COMMITMENT = ProvablyFair(b"s" * 32, client_seed="c").commitment

CAFE = """
[program]
id = "cafe"
zone = "Asia/Shanghai"

[[lotteries]]
id = "mugs"
name = "Mug draw"
name_zh = "马克杯抽奖"
cost = 100
participation = "bonus"
daily_limit = 10
pity = { prizes = ["mug", "cookie"], hard = 5 }

[[lotteries.prizes]]
id = "mug"
name = "Mug"
name_zh = "马克杯"
probability = "3/5"
stock = 2

[[lotteries.prizes]]
id = "cookie"
name = "Cookie"
name_zh = "饼干"
probability = "1/5"

[[lotteries.prizes]]
id = "bonus"
name = "Bonus points"
name_zh = "积分奖励"
kind = "points"
points = 10
probability = "1/5"

[[lotteries]]
id = "plain"
name = "Plain draw"
cost = 50

[[lotteries.prizes]]
id = "pen"
name = "Pen"
probability = "1/4"

[[lotteries.prizes]]
id = "none"
name = "Nothing"
kind = "nothing"
probability = "3/4"
"""


def _mall(storage: Storage | None = None) -> Program:
    return Program(load_config(MALL), storage=storage or MemoryStorage(), clock=FixedClock(NOW))


def _cafe(storage: Storage | None = None) -> Program:
    return Program.from_toml(CAFE, storage=storage or MemoryStorage(), clock=FixedClock(NOW))


def _percents(root: Element) -> list[Decimal]:
    cells = root.find_all("td", class_="percent")
    assert all(cell.text().endswith("%") for cell in cells)
    return [Decimal(cell.text().removesuffix("%")) for cell in cells]


def _rows(root: Element) -> dict[str, list[str]]:
    """Each prize row's cells (heading first), by prize id."""
    return {
        row.attributes["data-prize"] or "": [
            cell.text() for cell in row.walk()[1:] if cell.name in ("th", "td")
        ]
        for row in root.one("tbody").find_all("tr")
    }


def _draw(program: Program, member: str, lottery: str, count: int) -> None:
    program.adjust(member, 100_000, key=f"gift-{member}", reason="test points")
    for number in range(count):
        program.draw(
            member, lottery, draw_id=f"{member}-{number}", minor=False, random=SeededRandom(number)
        )


# -- what the page shows --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_mall_pages_percents_sum_to_exactly_100(lang: str) -> None:
    """The shown percents of the packaged wheel sum to exactly 100.00, as the total row says."""
    root = parse(odds_page(_mall(), "wheel", lang=lang))  # type: ignore[arg-type]
    assert Decimal("100.00") == sum(_percents(root), Decimal(0))
    assert "100.00%" == root.one("td", class_="total").text()
    assert 5 == len(_percents(root))


def test_the_english_page_shows_every_prize() -> None:
    """Name, kind, quantity, remaining, exact fraction and percent of every prize, in order."""
    rows = _rows(parse(odds_page(_mall(), "wheel", lang="en")))
    assert {
        "trip": ["Trip for two", "goods", "1", "1", "1/100000", "0.00%", "<0.01%"],
        "phone": ["Phone", "goods", "5", "5", "1/10000", "0.01%", "0.02%"],
        "tablet": ["Tablet", "goods", "10", "10", "1/2000", "0.05%", "0.11%"],
        "card": ["Double-points card", "coupon", "unlimited", "unlimited", "1/50", "2.00%", "4.31%"],
        "coupon": ["5-yuan coupon", "coupon", "unlimited", "unlimited", "97939/100000", "97.94%", "95.56%"],
    } == rows  # fmt: skip


def test_the_chinese_page_shows_every_prize_in_chinese() -> None:
    """The Chinese page uses the Chinese names and kinds."""
    rows = _rows(parse(odds_page(_mall(), "wheel", lang="zh")))
    assert ["一等奖：双人旅游", "实物", "1", "1", "1/100000", "0.00%", "<0.01%"] == rows["trip"]
    assert ["参与奖：5元优惠券", "优惠券", "不限", "不限", "97939/100000", "97.94%", "95.56%"] == rows["coupon"]  # fmt: skip


def test_chinese_labels_are_entirely_chinese() -> None:
    """Outside codes, hashes and the link to English, the Chinese page has no English word."""
    root = parse(odds_page(_mall(), "wheel", lang="zh"))
    headings = [th.text() for th in root.one("thead").find_all("th")]
    assert ["奖品", "类型", "数量", "剩余", "中奖概率", "百分比", "综合概率（含保底）"] == headings
    text = _visible_text(root)
    for allowed in ("SHA-256", "pointkit verify-draws", "UTC", "Asia/Shanghai"):
        text = text.replace(allowed, "")
    assert [] == re.findall(r"[A-Za-z]{2,}", text)
    assert "zh-CN" == root.one("html").attributes["lang"]


def test_english_labels_are_entirely_english() -> None:
    """Outside the link to Chinese, the English page has no Chinese character."""
    root = parse(odds_page(_mall(), "wheel", lang="en"))
    headings = [th.text() for th in root.one("thead").find_all("th")]
    expected = ["Prize", "Kind", "Quantity", "Remaining", "Probability", "Percent"]
    assert [*expected, "With the guarantee"] == headings
    assert [] == re.findall(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", _visible_text(root))
    assert "en" == root.one("html").attributes["lang"]


def _visible_text(root: Element) -> str:
    skipped = {"code", "nav", "style", "title"}
    hidden = {id(e) for s in root.walk() if s.name in skipped for e in s.walk()}
    parts = [
        child
        for element in root.walk()
        if id(element) not in hidden
        for child in element.children
        if isinstance(child, str)
    ]
    return " ".join(parts)


def test_the_languages_link_to_each_other() -> None:
    """Each page links to the other language's file, named <lottery>.<lang>.html."""
    zh = parse(odds_page(_mall(), "wheel", lang="zh")).one("nav").one("a")
    en = parse(odds_page(_mall(), "wheel", lang="en")).one("nav").one("a")
    assert ("wheel.en.html", "English") == (zh.attributes["href"], zh.text())
    assert ("wheel.zh.html", "中文") == (en.attributes["href"], en.text())
    assert "wheel.zh.html" == odds_file_name("wheel", "zh")


def test_the_page_fits_a_phone() -> None:
    """The viewport meta is present and the odds table sits in a horizontal scroll box."""
    root = parse(odds_page(_mall(), "wheel", lang="zh"))
    viewports = [m for m in root.find_all("meta") if m.attributes.get("name") == "viewport"]
    assert ["width=device-width, initial-scale=1"] == [m.attributes["content"] for m in viewports]
    scroll = root.find_all("div", class_="table-scroll")
    assert 1 == len(scroll)
    assert 1 == len(scroll[0].find_all("table"))


def test_the_page_shows_cost_limits_pity_hash_and_time() -> None:
    """Cost per draw, daily limit, minors, pity in words, the table hash and the local time."""
    zh = parse(odds_page(_mall(), "wheel", lang="zh"))
    en = parse(odds_page(_mall(), "wheel", lang="en"))
    lottery = load_config(MALL).lottery("wheel")
    assert ("1,000 积分", "1,000 points") == (zh.one(class_="cost").text(), en.one(class_="cost").text())  # fmt: skip
    assert ["每人每天最多抽 5 次", "未成年人不得参与", "每次抽奖至少获得 参与奖：5元优惠券"] == [
        li.text() for li in zh.one("ul", class_="limits").find_all("li")
    ]
    assert ["at most 5 draws per member per day", "closed to minors", "every draw wins at least: 5-yuan coupon"] == [
        li.text() for li in en.one("ul", class_="limits").find_all("li")
    ]  # fmt: skip
    assert [
        "连续 29 次未抽中二等奖：手机、三等奖：平板电脑、四等奖：双倍积分卡，第 30 次必中其一"
    ] == [li.text() for li in zh.one("ul", class_="pity").find_all("li")]
    assert ["after 29 draws in a row without Phone, Tablet, Double-points card, draw 30 gives one of them"] == [
        li.text() for li in en.one("ul", class_="pity").find_all("li")
    ]  # fmt: skip
    assert lottery.table_hash == zh.one("code", class_="table-hash").text()
    assert "2026-06-01 10:00:00 (Asia/Shanghai, UTC+08:00)" == en.one("time").text()
    assert "2026-06-01 10:00:00（Asia/Shanghai，UTC+08:00）" == zh.one("time").text()
    assert "2026-06-01T10:00:00+08:00" == zh.one("time").attributes["datetime"]


def test_a_lottery_without_pity_has_no_consolidated_column() -> None:
    """Without a guarantee: no consolidated rates, and the page says there is no guarantee."""
    root = parse(odds_page(_cafe(), "plain", lang="en"))
    assert [] == root.find_all(class_="consolidated")
    assert ["this lottery has no guarantee"] == [li.text() for li in root.one("ul", class_="pity").find_all("li")]  # fmt: skip
    assert ["no daily limit on draws", "closed to minors"] == [
        li.text() for li in root.one("ul", class_="limits").find_all("li")
    ]
    rows = _rows(root)
    assert ["Nothing", "no prize", "unlimited", "unlimited", "3/4", "75.00%"] == rows["none"]
    assert "50 points" == root.one(class_="cost").text()


GACHA = """
[program]
id = "gacha"
zone = "Asia/Shanghai"

[[lotteries]]
id = "gacha"
name = "Gacha"
name_zh = "扭蛋"
cost = 160
pity = [
    { prizes = ["four"], hard = 10, resets_on = ["four", "five"] },
    { prizes = ["five"], hard = 90 },
]

[[lotteries.prizes]]
id = "five"
name = "5-star"
name_zh = "五星"
probability = "6/1000"

[[lotteries.prizes]]
id = "four"
name = "4-star"
name_zh = "四星"
probability = "51/1000"

[[lotteries.prizes]]
id = "three"
name = "3-star"
name_zh = "三星"
probability = "943/1000"
"""


def test_stacked_guarantees_each_get_a_line_in_both_languages() -> None:
    """A two-level lottery shows both guarantees, numbered, in Chinese and in English."""
    program = Program.from_toml(GACHA, storage=MemoryStorage(), clock=FixedClock(NOW))
    zh = parse(odds_page(program, "gacha", lang="zh"))
    en = parse(odds_page(program, "gacha", lang="en"))
    assert [
        "第 1 重保底：连续 9 次未抽中四星，第 10 次必中其一",
        "第 1 重保底：抽中五星、四星时保底计数清零",
        "第 2 重保底：连续 89 次未抽中五星，第 90 次必中其一",
    ] == [li.text() for li in zh.one("ul", class_="pity").find_all("li")]
    assert [
        "guarantee 1: after 9 draws in a row without 4-star, draw 10 gives one of them",
        "guarantee 1: the count starts again when a draw gives 5-star, 4-star",
        "guarantee 2: after 89 draws in a row without 5-star, draw 90 gives one of them",
    ] == [li.text() for li in en.one("ul", class_="pity").find_all("li")]


def test_the_commitment_is_shown_when_given() -> None:
    """With a commitment the page shows it; without, it says the draws are not provably fair."""
    fair = parse(odds_page(_mall(), "wheel", lang="en", commitment=COMMITMENT.upper()))
    assert COMMITMENT == fair.one("code", class_="commitment").text()
    assert [] == fair.find_all(class_="not-fair")
    unfair = parse(odds_page(_mall(), "wheel", lang="en"))
    assert [] == unfair.find_all(class_="commitment")
    assert "not provably fair" in unfair.one(class_="not-fair").text()
    zh = parse(odds_page(_mall(), "wheel", lang="zh"))
    assert "非可证明公平" in zh.one(class_="not-fair").text()


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"lottery": "nope"}, InvalidArgumentError, r"lottery='nope' is not one of 'wheel'"),
        ({"lang": "fr"}, InvalidArgumentError, r"lang='fr' must be one of 'zh', 'en'"),
        ({"commitment": "abc"}, InvalidArgumentError, r"commitment='abc' must be 64 hex digits"),
    ],
)
def test_the_page_refuses_bad_arguments(
    arguments: dict[str, str], error: type[Exception], message: str
) -> None:
    """An unknown lottery (listing the ids), a language other than zh/en, a bad commitment."""
    chosen = {"lottery": "wheel", "lang": "zh", "commitment": None} | arguments
    with pytest.raises(error, match=message):
        odds_page(_mall(), **chosen)  # type: ignore[arg-type]


# -- stock, draws and the invariant -----------------------------------------------------------------


def test_remaining_stock_follows_the_draws() -> None:
    """After draws through Program.draw, the page shows the stock left, and sold-out odds move."""
    program = _cafe()
    before = _rows(parse(odds_page(program, "mugs", lang="en")))
    assert ["Mug", "goods", "2", "2", "3/5", "60.00%"] == before["mug"][:6]
    _draw(program, "alice", "mugs", 3)
    sold = program.lottery_sold("mugs")
    assert {"mug": 2} == sold
    root = parse(odds_page(program, "mugs", lang="en"))
    after = _rows(root)
    assert ["Mug", "goods", "2", "0", "0", "0.00%"] == after["mug"][:6]
    assert ["Bonus points", "10 points", "unlimited", "unlimited", "4/5", "80.00%"] == after["bonus"][:6]  # fmt: skip
    assert Decimal("100.00") == sum(_percents(root), Decimal(0))


def test_the_table_hash_ties_draw_records_to_the_page() -> None:
    """A draw record's table hash is the hash the page publishes."""
    program = _cafe()
    _draw(program, "bob", "mugs", 1)
    page_hash = parse(odds_page(program, "mugs", lang="zh")).one(class_="table-hash").text()
    assert program.draw_record("bob-0").table_hash == page_hash


def test_a_table_that_does_not_sum_to_100_is_not_rendered() -> None:
    """Percents summing to anything but 100.00 raise InvariantViolation; nothing is rendered."""
    lottery = load_config(MALL).lottery("wheel")
    disclosure = lottery.disclosure()
    first = attrs.evolve(disclosure.rows[0], percent=disclosure.rows[0].percent + Decimal("0.01"))
    broken = attrs.evolve(disclosure, rows=(first, *disclosure.rows[1:]))
    with pytest.raises(InvariantViolation, match=r"the percents sum to 100.01%, not 100.00%"):
        odds_document(broken, lottery, lang="en", generated_at=NOW)
    three = attrs.evolve(disclosure.rows[0], percent=Decimal("0.001"))
    with pytest.raises(InvariantViolation, match="not a number with two places"):
        odds_document(
            attrs.evolve(disclosure, rows=(three, *disclosure.rows[1:])),
            lottery,
            lang="en",
            generated_at=NOW,
        )


def test_odds_document_checks_its_inputs() -> None:
    """A naive time, or a disclosure of another table, is refused."""
    config = Program.from_toml(CAFE, storage=MemoryStorage(), clock=FixedClock(NOW)).config
    mugs, plain = config.lottery("mugs"), config.lottery("plain")
    with pytest.raises(NaiveDatetimeError, match="must have a time zone"):
        odds_document(mugs.disclosure(), mugs, lang="en", generated_at=datetime(2026, 6, 1))  # noqa: DTZ001 - the naive time is the point
    with pytest.raises(
        InvalidArgumentError, match=r"disclosure of 'plain' .* is not the table of lottery 'mugs'"
    ):
        odds_document(plain.disclosure(), mugs, lang="en", generated_at=NOW)  # fmt: skip


@st.composite
def lotteries(draw: st.DrawFn) -> tuple[Lottery, dict[str, int]]:
    """A lottery of 1 to 12 prizes with exact odds, some stocked, pity or not, and stock sold."""
    weights = draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=12))
    total = sum(weights) + 1
    prizes = [
        Prize(
            f"p{index}",
            f"Prize {index}",
            Fraction(weight, total),
            stock=draw(st.none() | st.integers(1, 5)),
        )
        for index, weight in enumerate(weights)
    ]
    prizes.append(Prize("base", "Thanks", Fraction(1, total), kind="coupon"))
    pity = None
    if draw(st.booleans()):
        pity = Pity(["base", prizes[0].id], hard=draw(st.integers(1, 30)))
    sold = {
        prize.id: draw(st.integers(0, prize.stock)) for prize in prizes if prize.stock is not None
    }
    lottery = Lottery("l", "L", 10, prizes, participation="base", pity=pity)
    return lottery, sold


@given(lotteries(), st.sampled_from(["zh", "en"]))
def test_any_table_renders_percents_summing_to_exactly_100(
    drawn: tuple[Lottery, dict[str, int]], lang: str
) -> None:
    """For any table and stock sold, the page's percents sum to exactly 100.00, a row a prize."""
    lottery, sold = drawn
    root = parse(odds_document(lottery.disclosure(sold=sold), lottery, lang=lang, generated_at=NOW))  # type: ignore[arg-type]
    percents = _percents(root)
    assert len(lottery.prizes) == len(percents)
    assert Decimal("100.00") == sum(percents, Decimal(0))
    remaining = [cell.text() for cell in root.find_all("td", class_="remaining")]
    unlimited = "不限" if lang == "zh" else "unlimited"
    assert [
        unlimited if prize.stock is None else str(prize.stock - sold[prize.id])
        for prize in lottery.prizes
    ] == remaining


# -- the command --------------------------------------------------------------------------------


def test_the_command_writes_both_languages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pointkit odds CONFIG --output DIR` writes zh and en pages for every lottery and prints them."""
    config = tmp_path / "cafe.toml"
    config.write_text(CAFE, encoding="utf-8")
    out = tmp_path / "site"
    assert 0 == main(["odds", str(config), "--output", str(out)])
    names = ["mugs.zh.html", "mugs.en.html", "plain.zh.html", "plain.en.html"]
    assert [str(out / name) for name in names] == capsys.readouterr().out.splitlines()
    assert sorted(names) == sorted(path.name for path in out.iterdir())
    root = parse((out / "mugs.zh.html").read_text(encoding="utf-8"))
    assert "马克杯抽奖 概率公示" == root.one("h1").text()
    assert ["2", "2"] == _rows(root)["mug"][2:4]


def test_the_command_names_lotteries_and_takes_a_commitment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--lottery picks lotteries; --commitment goes on every page written."""
    out = tmp_path / "site"
    arguments = ["odds", str(MALL), "--lottery", "wheel", "--commitment", COMMITMENT]
    assert 0 == main([*arguments, "--output", str(out)])
    assert 2 == len(capsys.readouterr().out.splitlines())
    for lang in ("zh", "en"):
        root = parse((out / f"wheel.{lang}.html").read_text(encoding="utf-8"))
        assert COMMITMENT == root.one(class_="commitment").text()


def test_the_command_refuses_an_unknown_lottery(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown id: exit 1, a message listing the valid ids, and no file written."""
    out = tmp_path / "site"
    assert 1 == main(["odds", str(MALL), "--lottery", "wheel", "dice", "--output", str(out)])
    error = capsys.readouterr().err
    assert f"pointkit: no lottery 'dice' in {MALL}; valid ids: 'wheel'\n" == error
    assert not out.exists()


def test_the_command_reads_the_stock_from_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --db, the remaining stock is the database's."""
    config = tmp_path / "cafe.toml"
    config.write_text(CAFE, encoding="utf-8")
    database = tmp_path / "cafe.db"
    storage = SQLiteStorage(database, migrate=True)
    _draw(_cafe(storage), "alice", "mugs", 3)
    storage.close()
    out = tmp_path / "site"
    assert 0 == main(["odds", str(config), "--db", str(database), "--output", str(out)])
    capsys.readouterr()
    rows = _rows(parse((out / "mugs.en.html").read_text(encoding="utf-8")))
    assert ["2", "0"] == rows["mug"][2:4]


def test_the_command_reads_the_stock_from_postgres(
    postgres_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --dsn and --schema, the remaining stock is PostgreSQL's."""
    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415 - optional extra

    schema = f"pointkit_odds_{os.urandom(4).hex()}"
    config = tmp_path / "cafe.toml"
    config.write_text(CAFE, encoding="utf-8")
    try:
        storage = PostgresStorage(postgres_dsn, schema=schema, migrate=True)
        _draw(_cafe(storage), "alice", "mugs", 3)
        storage.close()
        out = tmp_path / "site"
        arguments = ["odds", str(config), "--dsn", postgres_dsn, "--schema", schema]
        assert 0 == main([*arguments, "--output", str(out)])
        capsys.readouterr()
        rows = _rows(parse((out / "mugs.zh.html").read_text(encoding="utf-8")))
        assert ["2", "0"] == rows["mug"][2:4]
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

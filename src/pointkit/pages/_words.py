# ruff: noqa: RUF001 - the Chinese page is written with Chinese punctuation
"""The words of the odds page, in Chinese and in English.

Each language is one :class:`Words` value, so a page is entirely in one language (a Chinese
page has no English label left over, and the reverse), and a missing word is a type error
rather than a blank on a published page. Sentences with numbers in them are format strings
with named fields; the page fills them in.
"""

from __future__ import annotations

from typing import Final, final

import attrs


__all__ = ["EN", "ZH", "Words"]


@final
@attrs.frozen(kw_only=True)
class Words:
    """Every label and sentence of the odds page in one language."""

    lang: str
    other_lang: str
    other_language: str  # the other language's name, written in that language
    title: str  # {name}
    intro: str
    facts: str
    lottery: str
    cost: str
    cost_text: str  # {cost} {currency}
    currencies: tuple[tuple[str, str], ...]  # (code, name): a code not listed is shown as is
    window: str
    always_open: str
    from_: str  # {start}
    until: str  # {end}
    from_until: str  # {start} {end}
    limits: str
    daily_limit: str  # {count}
    no_daily_limit: str
    minors_blocked: str
    minors_allowed: str
    participation: str  # {prize}
    odds: str
    caption: str
    prize: str
    kind: str
    quantity: str
    remaining: str
    probability: str
    percent: str
    with_pity: str
    total: str
    unlimited: str
    kinds: tuple[tuple[str, str], ...]  # (prize kind, its name)
    points_prize: str  # {points} {currency}
    list_separator: str
    odds_notes: tuple[str, ...]
    consolidated_note: str
    pity: str
    hard_pity: str  # {misses} {hard} {prizes}
    soft_pity: str  # {start} {step} {prizes}
    resets: str  # {prizes}
    shared_counter: str  # {counter}
    no_pity: str
    pity_level: str  # {number} {line}: one of stacked guarantees
    fairness: str
    table_hash: str
    table_hash_note: str
    commitment: str
    commitment_note: str
    not_provably_fair: str
    generated: str
    generated_text: str  # {time} {zone} {offset}

    def currency(self, code: str) -> str:
        """The name of the point currency *code* in this language (the code if it has none)."""
        return dict(self.currencies).get(code, code)

    def kind_name(self, kind: str) -> str:
        """The name of the prize kind *kind* in this language."""
        return dict(self.kinds)[kind]


ZH: Final = Words(
    lang="zh",
    other_lang="en",
    other_language="English",
    title="{name} 概率公示",
    intro=(
        "依据网络游戏及网络抽奖活动的相关规定，本页公示本抽奖活动全部奖品的名称、类型、数量、"
        "剩余数量及中奖概率。概率为本页生成时的数值：奖品抽完后，其概率按下表规则转给指定奖品，"
        "本页随之更新。"
    ),
    facts="活动信息",
    lottery="活动名称",
    cost="每次消耗",
    cost_text="{cost} {currency}",
    currencies=(("points", "积分"), ("miles", "里程")),
    window="活动时间",
    always_open="长期有效",
    from_="{start} 起",
    until="至 {end} 止",
    from_until="{start} 至 {end}",
    limits="抽奖限制",
    daily_limit="每人每天最多抽 {count} 次",
    no_daily_limit="每日抽奖次数不限",
    minors_blocked="未成年人不得参与",
    minors_allowed="未限制未成年人参与",
    participation="每次抽奖至少获得 {prize}",
    odds="奖品与概率",
    caption="奖品及中奖概率",
    prize="奖品",
    kind="类型",
    quantity="数量",
    remaining="剩余",
    probability="中奖概率",
    percent="百分比",
    with_pity="综合概率（含保底）",
    total="合计",
    unlimited="不限",
    kinds=(("goods", "实物"), ("coupon", "优惠券"), ("points", "积分"), ("nothing", "未中奖")),
    points_prize="{points} {currency}",
    list_separator="、",
    odds_notes=(
        "中奖概率为每次抽奖的精确概率（分数），百分比保留两位小数，各奖品百分比合计恰为 100.00%。",
        "剩余数量为 0 的奖品已抽完，其概率已转给指定奖品。",
    ),
    consolidated_note="综合概率指计入保底规则后，长期平均每次抽奖获得该奖品的概率。",
    pity="保底规则",
    hard_pity="连续 {misses} 次未抽中{prizes}，第 {hard} 次必中其一",
    soft_pity="自连续第 {start} 次起，抽中{prizes}的概率每次提高 {step}",
    resets="抽中{prizes}时保底计数清零",
    shared_counter="保底计数与使用同一计数器（{counter}）的其他抽奖活动共享",
    no_pity="本抽奖没有保底规则",
    pity_level="第 {number} 重保底：{line}",
    fairness="核验信息",
    table_hash="奖池规则哈希",
    table_hash_note="每条抽奖记录都带有所用奖池规则的哈希（SHA-256），可据此核对抽奖所用的规则即本页公示的规则。",
    commitment="服务器种子承诺",
    commitment_note=(
        "抽奖前公布的服务器种子的 SHA-256。种子公布后，任何人都可以用它重新计算并核验每一次抽奖的结果"
        "（pointkit verify-draws）。"
    ),
    not_provably_fair="抽奖使用运营方的随机数源，结果无法由第三方独立核验（非可证明公平）。",
    generated="生成时间",
    generated_text="{time}（{zone}，UTC{offset}）",
)

EN: Final = Words(
    lang="en",
    other_lang="zh",
    other_language="中文",
    title="{name}: odds",
    intro=(
        "This page publishes every prize of this lottery: its name, kind, quantity, how many are "
        "left, and its exact probability. The odds are those in force when the page was made: "
        "when a prize runs out, its chance moves to the prize named for it, and the page is "
        "updated."
    ),
    facts="About this lottery",
    lottery="Lottery",
    cost="Cost per draw",
    cost_text="{cost} {currency}",
    currencies=(),
    window="Open",
    always_open="no fixed dates",
    from_="from {start}",
    until="until {end}",
    from_until="{start} to {end}",
    limits="Limits",
    daily_limit="at most {count} draws per member per day",
    no_daily_limit="no daily limit on draws",
    minors_blocked="closed to minors",
    minors_allowed="open to minors",
    participation="every draw wins at least: {prize}",
    odds="Prizes and odds",
    caption="Prizes and their probabilities",
    prize="Prize",
    kind="Kind",
    quantity="Quantity",
    remaining="Remaining",
    probability="Probability",
    percent="Percent",
    with_pity="With the guarantee",
    total="Total",
    unlimited="unlimited",
    kinds=(("goods", "goods"), ("coupon", "coupon"), ("points", "points"), ("nothing", "no prize")),
    points_prize="{points} {currency}",
    list_separator=", ",
    odds_notes=(
        (
            "The probability is the exact chance per draw, as a fraction; the percentages have "
            "two places and add up to exactly 100.00%."
        ),
        "A prize with none remaining has run out: its chance has moved to the prize named for it.",
    ),
    consolidated_note=(
        "With the guarantee: the long-run share of draws that give the prize, counting the "
        "guarantee below."
    ),
    pity="Guarantee",
    hard_pity="after {misses} draws in a row without {prizes}, draw {hard} gives one of them",
    soft_pity="from draw {start} of a run on, the chance of {prizes} rises by {step} a draw",
    resets="the count starts again when a draw gives {prizes}",
    shared_counter="the count is shared with other lotteries that use the counter {counter}",
    no_pity="this lottery has no guarantee",
    pity_level="guarantee {number}: {line}",
    fairness="Checking the draws",
    table_hash="Prize table hash",
    table_hash_note=(
        "Every draw record carries the SHA-256 hash of the prize table it was drawn from: check "
        "it against this one."
    ),
    commitment="Server seed commitment",
    commitment_note=(
        "The SHA-256 of the server seed, published before the draws. Once the seed is revealed, "
        "anyone can recompute and check every draw (pointkit verify-draws)."
    ),
    not_provably_fair=(
        "Draws use the operator's random source: they are not provably fair, and cannot be "
        "checked independently."
    ),
    generated="Generated",
    generated_text="{time} ({zone}, UTC{offset})",
)

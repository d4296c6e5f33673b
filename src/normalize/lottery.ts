/**
 * 天选时刻 lotteries (docs/protocol.md §4.10): ANCHOR_LOT_START, ANCHOR_LOT_END and
 * ANCHOR_LOT_AWARD → a `lottery` event whose `lotId` joins the three phases.
 */
import type { LotteryPhase } from "./events.ts";
import { asArray, asNonEmptyString, asNumber, asObject, asString } from "../util/json_guards.ts";
import type { CmdHandler } from "./context.ts";

/** Most `award_users` written into `winners` (a prize has at most a few hundred winners). */
export const MAX_LOTTERY_WINNERS = 1000;

/** The phase of an ANCHOR_LOT_* cmd (without suffix), or undefined when it is not one. */
function lotteryPhase(baseCmd: string): LotteryPhase | undefined {
  switch (baseCmd) {
    case "ANCHOR_LOT_START":
      return "start";
    case "ANCHOR_LOT_END":
      return "end";
    case "ANCHOR_LOT_AWARD":
      return "award";
    default:
      return undefined;
  }
}

/** `award_users` as a JSON array of `{uid, uname}` (at most MAX_LOTTERY_WINNERS of them). */
function winnersJson(users: readonly unknown[]): string {
  const n = Math.min(users.length, MAX_LOTTERY_WINNERS);
  const winners: { uid: number | null; uname: string | null }[] = [];
  for (let i = 0; i < n; i++) {
    const user = asObject(users[i]);
    winners.push({ uid: asNumber(user?.uid), uname: asString(user?.uname) });
  }
  return JSON.stringify(winners);
}

/**
 * Pushes the `lottery` event of an ANCHOR_LOT_* body: the prize, keyword, gift, condition and
 * duration at the start, the winners at the award, only the id at the end. False without an
 * id.
 */
export const normalizeAnchorLot: CmdHandler = ({ data, cmd, baseCmd }, context, out) => {
  const phase = lotteryPhase(baseCmd);
  const lotId = asNumber(data?.id);
  if (phase === undefined || data === undefined || lotId === null) return false;
  const start = phase === "start";
  const hasGift = start && (asNumber(data.gift_id) ?? 0) !== 0;
  const users = phase === "award" ? asArray(data.award_users) : undefined;
  out.push({
    type: "lottery",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    phase,
    lotId,
    awardName: phase === "end" ? null : asNonEmptyString(data.award_name),
    awardNum: phase === "end" ? null : asNumber(data.award_num),
    danmu: start ? asNonEmptyString(data.danmu) : null,
    giftName: hasGift ? asNonEmptyString(data.gift_name) : null,
    giftNum: hasGift ? asNumber(data.gift_num) : null,
    requireText: start ? asNonEmptyString(data.require_text) : null,
    durationS: start ? asNumber(data.max_time) : null,
    winners: users === undefined ? null : winnersJson(users),
    winnerCount: users === undefined ? null : users.length,
  });
  return true;
};

/**
 * ENTRY_EFFECT and ENTRY_EFFECT_MUST_RECEIVE (docs/protocol.md §4.6): a viewer's entry shown
 * with an effect (guards, high wealth levels) → an `entry` event.
 */
import { asNonEmptyString, asNumber, asObject, asString } from "../util/json_guards.ts";
import type { CmdHandler } from "./context.ts";
import { nanosToMs } from "./unix_time.ts";

/** The name between `<%` and `%>` of a `copy_writing` such as "欢迎 <%名字%> 进入直播间"; else null. */
export function nameInCopyWriting(copyWriting: string): string | null {
  const open = copyWriting.indexOf("<%");
  if (open < 0) return null;
  const close = copyWriting.indexOf("%>", open + 2);
  return close > open + 2 ? copyWriting.slice(open + 2, close) : null;
}

/**
 * Pushes the `entry` event of an entry effect; false when `data` is missing or names nobody
 * (no uid and no name).
 */
export const normalizeEntryEffect: CmdHandler = ({ data, cmd }, context, out) => {
  if (data === undefined) return false;
  const uinfo = asObject(data.uinfo);
  const copyWriting = asString(data.copy_writing) ?? "";
  const uid = asNumber(data.uid) ?? asNumber(uinfo?.uid);
  const uname = asNonEmptyString(asObject(uinfo?.base)?.name) ?? nameInCopyWriting(copyWriting);
  if (uid === null && uname === null) return false;
  out.push({
    type: "entry",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    tsMs: nanosToMs(data.trigger_time),
    uid: uid ?? 0,
    uname: uname ?? "",
    guardLevel: asNumber(data.privilege_type) ?? 0,
    wealthLevel: asNumber(asObject(data.wealthy_info)?.level) ?? asNumber(data.wealth_level),
    effectId: asNumber(data.id),
    copyWriting,
  });
  return true;
};

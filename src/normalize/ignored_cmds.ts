/** Cmds the collector understands but deliberately does not store (kept only under keepRaw). */
export const IGNORED_CMDS: ReadonlySet<string> = new Set([
  // Summarises SEND_GIFTs already stored one by one: storing it would double count.
  "COMBO_SEND",
  // Lists OTHER rooms that just went offline; the same body reaches every connection about
  // every 30 s, so storing it would write one copy per connected room and say nothing of ours.
  "STOP_LIVE_ROOM_LIST",
]);

/**
 * How many lease slots one node should hold: the slots spread as evenly as the nodes'
 * capacities allow (water-filling), so nodes that start together split the rooms instead of
 * the first one taking everything it can.
 */

/**
 * The even share of `slots` among nodes of the given `capacities` (each already capped at the
 * number of rooms, since a node holds one slot of a room at most): the smallest `s` with
 * `Σ min(capacity, s) ≥ slots`, or the largest capacity when all of them together fall short.
 * A node's target is `min(its capacity, s)`.
 */
export function fairShare(slots: number, capacities: readonly number[]): number {
  if (capacities.length === 0 || slots <= 0) return 0;
  const largest = Math.max(...capacities);
  let low = 0;
  let high = largest;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    let total = 0;
    for (const capacity of capacities) total += Math.min(capacity, middle);
    if (total >= slots) high = middle;
    else low = middle + 1;
  }
  return low;
}

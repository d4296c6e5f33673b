/**
 * What discovery needs from whoever runs the rooms: the collector's `Supervisor` satisfies it
 * structurally, so discovery does not import the collector (imports only go down).
 */

/** The set of collected rooms, as discovery sees it. */
export interface RoomSet {
  /** True when `roomId` (requested or real id) is collected. */
  has(roomId: number): boolean;
  /**
   * Starts collecting `roomId`, whose real id is known (and its viewers when listed, which a
   * cluster's wanted set orders by); false if it is already collected.
   */
  add(roomId: number, known: { roomId: number; online?: number }): boolean;
  /** Stops collecting `roomId`; resolves once its connection is closed. */
  remove(roomId: number): Promise<boolean>;
  /** `rooms`: how many rooms are collected. */
  status(): { rooms: number };
}

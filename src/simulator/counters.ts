/** What the simulator counts; read them from `Simulator.counters` or the periodic log line. */
export interface SimulatorCounters {
  /** Connections accepted since start (TCP and WebSocket). */
  connectionsAccepted: number;
  /** Connections refused by the per-IP cap. */
  connectionsRefused: number;
  /** Auth attempts refused (wrong or missing token, uid mismatch, blocked room, authfail). */
  authRejected: number;
  /** Successful auths since start. */
  authAccepted: number;
  /** Op-5 messages written to authenticated connections (one per message per connection). */
  messagesSent: number;
  /** Bytes of op-5 frames written. */
  bytesSent: number;
  /** Messages of a room not written to a connection of it that the throttle fault hit. */
  messagesWithheld: number;
  /** Room messages that counted towards `--messages` (delivered to at least one connection). */
  roomMessages: number;
  /** Heartbeat replies sent. */
  heartbeats: number;
  /** HTTP requests served, and how many got 412 or -352. */
  httpRequests: number;
  http412: number;
  http352: number;
  /** Faults injected. */
  faultDisconnects: number;
  faultStalls: number;
  /** Connections throttled (the fault, or `Simulator.throttle`). */
  faultThrottles: number;
  faultCorrupt: number;
  faultBlocks: number;
  /** Raw TCP auths of rooms with a TCP fault: closed without a reply, closed after it, silenced. */
  tcpRefused: number;
  tcpClosedAfterAuth: number;
  tcpSilenced: number;
}

/** All counters at zero. */
export function newCounters(): SimulatorCounters {
  return {
    connectionsAccepted: 0,
    connectionsRefused: 0,
    authRejected: 0,
    authAccepted: 0,
    messagesSent: 0,
    bytesSent: 0,
    messagesWithheld: 0,
    roomMessages: 0,
    heartbeats: 0,
    httpRequests: 0,
    http412: 0,
    http352: 0,
    faultDisconnects: 0,
    faultStalls: 0,
    faultThrottles: 0,
    faultCorrupt: 0,
    faultBlocks: 0,
    tcpRefused: 0,
    tcpClosedAfterAuth: 0,
    tcpSilenced: 0,
  };
}

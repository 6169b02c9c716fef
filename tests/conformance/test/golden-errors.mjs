// Every -ERR line the conformance suite expects, byte for byte, as sent by
// nats-server v2.9.10. Tests compare whole lines against these values, so a
// server that words an error differently fails.

export const ERR = Object.freeze({
  unknownOperation: "-ERR 'Unknown Protocol Operation'\r\n",
  maxControlLine: "-ERR 'maximum control line exceeded'\r\n",
  maxPayload: "-ERR 'Maximum Payload Violation'\r\n",
  invalidSubject: "-ERR 'Invalid Subject'\r\n",
  invalidPublishSubject: "-ERR 'Invalid Publish Subject'\r\n",
  authorizationViolation: "-ERR 'Authorization Violation'\r\n",
  authenticationTimeout: "-ERR 'Authentication Timeout'\r\n",
  staleConnection: "-ERR 'Stale Connection'\r\n",
  maxConnections: "-ERR 'maximum connections exceeded'\r\n",
  noRespondersNeedsHeaders: "-ERR 'no responders requires headers support'\r\n",
  invalidClientProtocol: "-ERR 'invalid client protocol'\r\n",
});

/** -ERR for a PUB/HPUB to a subject the user may not publish to. */
export const permPublish = (subject) => `-ERR 'Permissions Violation for Publish to "${subject}"'\r\n`;

/** -ERR for a SUB the user may not make (optionally with a queue group). */
export const permSubscribe = (subject, queue) =>
  queue === undefined
    ? `-ERR 'Permissions Violation for Subscription to "${subject}"'\r\n`
    : `-ERR 'Permissions Violation for Subscription to "${subject}" using queue "${queue}"'\r\n`;

/**
 * What nats.js reports as err.message for a -ERR line: the argument after
 * "-ERR ", single quotes included (e.g. "'Authorization Violation'").
 */
export const clientMessage = (line) => line.slice('-ERR '.length, -'\r\n'.length);

// What a worker node or a scheduler may be called: its id names its BullMQ queue, its registration, its URL paths and metric labels.

/** A letter or digit, then up to 62 letters, digits, '_' or '-' (a pattern body, without anchors). */
export const NODE_ID_BODY = '[A-Za-z0-9][A-Za-z0-9_-]{0,62}';

export const NODE_ID = new RegExp(`^${NODE_ID_BODY}$`);

export function isNodeId(id: string): boolean {
  return NODE_ID.test(id);
}

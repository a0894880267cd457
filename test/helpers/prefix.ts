// A fresh Redis key prefix per test, so tests never see each other's keys.
import { randomBytes } from 'node:crypto';

export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(3).toString('hex')}`;
}

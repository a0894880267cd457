// The process logger: pino, JSON lines to stderr so stdout stays for results.
import { pino, type Logger } from 'pino';
import { CREDENTIAL_LOG_PATHS } from '../blobs/redact.js';

export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid }, redact: [...CREDENTIAL_LOG_PATHS] }, pino.destination(2));
}

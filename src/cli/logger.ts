// The process logger: pino, JSON lines to stderr so stdout stays for results.
import { pino, type Logger } from 'pino';
import { CREDENTIAL_LOG_PATHS } from '../blobs/redact.js';

/** `destination`: stderr unless given (a test reads the lines back). Credentials are redacted (src/blobs/redact.ts). */
export function createLogger(level: string, destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino({ level, base: { pid: process.pid }, redact: [...CREDENTIAL_LOG_PATHS] }, destination);
}

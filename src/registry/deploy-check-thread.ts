// Inside a deploy check's thread: the bundled module loaded, its export checked, its schema turned into JSON Schema.
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { serializeError } from '../errors.js';
import { importModule } from './import-module.js';
import { describeJobExport, type DeployedJobInfo } from './deploy-check.js';

/** Posts `{ ok: true, info }` or `{ ok: false, error }` to the parent, once. */
export function checkInThisThread(): void {
  const { file } = workerData as { file: string };
  check(file).then(
    (info) => parentPort?.postMessage({ ok: true, info }),
    (err: unknown) => parentPort?.postMessage({ ok: false, error: serializeError(err) }),
  );
}

async function check(file: string): Promise<DeployedJobInfo> {
  const imported = await importModule(file);
  return describeJobExport(imported.default, (schema) => z.toJSONSchema(schema as z.ZodType, { unrepresentable: 'throw' }));
}

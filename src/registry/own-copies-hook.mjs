// Resolve hook (module.register) for job modules loaded as ESM: the rule of own-copies.ts, in plain JavaScript for Node's loader thread.
const OWN_PACKAGES = /^(ringpool|zod)(\/|$)/;

/** `parentURL`: ringpool's package.json; `distURL`: its dist/ folder; `fromSource`: running the repo's TypeScript. */
let own = { parentURL: '', distURL: '', fromSource: false };

export function initialize(data) {
  own = data;
}

/**
 * `zod` and `ringpool/…` resolve as Node resolves them; when that finds nothing (or, running from
 * the sources, finds a stale build), as if imported from ringpool's own package, where the repo's
 * `ringpool-source` condition names the TypeScript of each entry.
 */
export async function resolve(specifier, context, next) {
  if (!OWN_PACKAGES.test(specifier)) return next(specifier, context);
  let missing;
  try {
    const found = await next(specifier, context);
    if (!(own.fromSource && found.url.startsWith(own.distURL))) return found;
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    missing = err;
  }
  const conditions = own.fromSource ? ['ringpool-source', ...context.conditions] : context.conditions;
  try {
    return await next(specifier, { ...context, parentURL: own.parentURL, conditions });
  } catch (err) {
    throw missing ?? err;
  }
}

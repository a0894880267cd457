// fast-check arbitraries from the JSON Schemas of an OpenAPI document: values a schema accepts, and values it refuses (for the subset the API's document uses).
import fc from 'fast-check';

export type Schema = Record<string, any>;

/** Local references (`#/components/schemas/Job`) resolved in `root`, the whole document. */
export function resolve(schema: Schema, root: Schema): Schema {
  let s = schema;
  for (let hops = 0; typeof s.$ref === 'string'; hops++) {
    if (hops > 20 || !s.$ref.startsWith('#/')) throw new Error(`cannot resolve ${s.$ref}`);
    s = s.$ref
      .slice(2)
      .split('/')
      .map((p: string) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((node: any, key: string) => node?.[key], root);
    if (s === undefined) throw new Error(`${schema.$ref} points nowhere`);
  }
  return s;
}

/**
 * An integer in [min, max], mostly small: near `min`, at the bounds, or anywhere (a job's input is
 * run by real workers, and a walk should not submit hours of work).
 */
function integerIn(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min, max: Math.min(max, min + 50) }) },
    { weight: 1, arbitrary: fc.constantFrom(min, max) },
    { weight: 1, arbitrary: fc.integer({ min, max }) },
  );
}

const SAFE = Number.MAX_SAFE_INTEGER;

/** Values `schema` accepts. */
export function validValue(schema: Schema, root: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, root);
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const branches = s.oneOf ?? s.anyOf;
  if (Array.isArray(branches)) return fc.oneof(...branches.map((b: Schema) => validValue(b, root, depth + 1)));
  if (Array.isArray(s.type)) return fc.oneof(...s.type.map((t: string) => validValue({ ...s, type: t }, root, depth)));
  switch (s.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return integerIn(Math.max(-SAFE, Math.ceil(s.minimum ?? -1e6)), Math.min(SAFE, Math.floor(s.maximum ?? 1e6)));
    case 'number': {
      const min = s.minimum ?? -1e6;
      const max = s.maximum ?? 1e6;
      return fc.oneof(fc.constantFrom(min, max), fc.double({ min, max, noNaN: true, noDefaultInfinity: true }));
    }
    case 'string': {
      const minLength = s.minLength ?? 0;
      const maxLength = Math.min(s.maxLength ?? 40, minLength + 40);
      if (typeof s.pattern === 'string') return fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length >= minLength && v.length <= (s.maxLength ?? Infinity));
      return fc.string({ minLength, maxLength });
    }
    case 'array':
      if (depth > 4) return fc.constant([]);
      return fc.array(validValue(s.items ?? {}, root, depth + 1), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 3, (s.minItems ?? 0) + 3) });
    case 'object':
      return objectValue(s, root, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectValue(s: Schema, root: Schema, depth: number): fc.Arbitrary<unknown> {
  const props: Record<string, Schema> = s.properties ?? {};
  const required: string[] = s.required ?? [];
  if (depth > 4) return fc.constant({});
  const shape = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, validValue(v, root, depth + 1)]));
  const record = fc.record(shape, { requiredKeys: required.filter((k) => k in props) });
  if (s.additionalProperties === false || s.additionalProperties === undefined) return record;
  // A map (z.record): a few more keys of the value schema.
  const extra = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), validValue(s.additionalProperties === true ? {} : s.additionalProperties, root, depth + 1), { maxKeys: 3 });
  return fc.tuple(record, extra).map(([r, e]) => ({ ...e, ...r }));
}

/** A value of another JSON type than `types` allows. */
function otherType(types: readonly string[]): fc.Arbitrary<unknown> {
  const all: Array<[string, unknown]> = [
    ['string', 'not-this'],
    ['integer', 7],
    ['number', 0.5],
    ['boolean', true],
    ['null', null],
    ['object', { unexpected: 1 }],
    ['array', [1, 'two']],
  ];
  const allowed = new Set(types.flatMap((t) => (t === 'number' ? ['number', 'integer'] : [t])));
  return fc.constantFrom(...all.filter(([t]) => !allowed.has(t)).map(([, v]) => v));
}

/**
 * Values `schema` refuses: another type, a number or length out of range, a value outside its
 * enum, an object missing a required key, with a key it does not allow, or with one property
 * refused in turn. Candidates only: the caller keeps those its validator refuses.
 */
export function invalidValue(schema: Schema, root: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, root);
  const strategies: Array<fc.Arbitrary<unknown>> = [];
  if ('const' in s || Array.isArray(s.enum)) strategies.push(fc.constantFrom('no-such-value', 12345));
  const branches: Schema[] | undefined = s.oneOf ?? s.anyOf;
  if (Array.isArray(branches)) strategies.push(...branches.map((b) => invalidValue(b, root, depth + 1)), fc.constantFrom('x', 1, null, []));
  const types: string[] = Array.isArray(s.type) ? s.type : typeof s.type === 'string' ? [s.type] : [];
  if (types.length > 0) strategies.push(otherType(types));
  if (types.includes('integer')) strategies.push(fc.constant(1.5));
  if (types.includes('integer') || types.includes('number')) {
    if (typeof s.minimum === 'number') strategies.push(fc.constant(s.minimum - 1));
    if (typeof s.maximum === 'number') strategies.push(fc.constant(s.maximum + 1));
  }
  if (types.includes('string')) {
    if (typeof s.minLength === 'number' && s.minLength > 0) strategies.push(fc.constant(''));
    if (typeof s.maxLength === 'number' && s.maxLength < 10_000) strategies.push(fc.constant('x'.repeat(s.maxLength + 1)));
  }
  if (types.includes('object') && depth < 4) strategies.push(...invalidObjects(s, root, depth));
  // A schema that accepts anything: the caller's validator will call this value valid.
  return strategies.length === 0 ? fc.constant(null) : fc.oneof(...strategies);
}

function invalidObjects(s: Schema, root: Schema, depth: number): Array<fc.Arbitrary<unknown>> {
  const valid = objectValue(s, root, depth) as fc.Arbitrary<Record<string, unknown>>;
  const out: Array<fc.Arbitrary<unknown>> = [];
  const required: string[] = s.required ?? [];
  if (required.length > 0) {
    out.push(fc.tuple(valid, fc.constantFrom(...required)).map(([v, k]) => Object.fromEntries(Object.entries(v).filter(([key]) => key !== k))));
  }
  if (s.additionalProperties === false) out.push(valid.map((v) => ({ ...v, notAField: 1 })));
  const props = Object.entries((s.properties ?? {}) as Record<string, Schema>);
  if (props.length > 0) {
    out.push(
      fc
        .constantFrom(...props)
        .chain(([k, p]) => fc.tuple(valid, fc.constant(k), invalidValue(p, root, depth + 1)))
        .map(([v, k, bad]) => ({ ...v, [k]: bad })),
    );
  }
  return out;
}

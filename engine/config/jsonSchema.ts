/**
 * The JSON Schema of experiment files, generated from `schema.ts` so that generic YAML
 * tooling validates them too. It states the shape only; rules that need the model or the
 * data files are the validator's.
 */
import { EXPERIMENT_SCHEMA, EXTENSION_KEY_PREFIX, FORMATS, gridPaths, specAt, splitPath, type Spec } from './schema';

type Json = { [key: string]: unknown };

const LAYER_RANGE = '^\\s*\\d+\\s*\\.\\.\\s*\\d+\\s*$';

export function experimentJsonSchema(): Json {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://adapter-lab.dev/schemas/adapter-experiment.schema.json',
    title: 'Adapter Lab experiment',
    ...toJsonSchema(EXPERIMENT_SCHEMA, true),
  };
}

function toJsonSchema(spec: Spec, isRoot = false): Json {
  const base: Json = { description: spec.doc };
  if (spec.default !== undefined && spec.type !== 'enumList') base.default = spec.default;
  switch (spec.type) {
    case 'object': {
      const properties: Json = {};
      for (const [k, v] of Object.entries(spec.fields)) properties[k] = toJsonSchema(v);
      const required = Object.entries(spec.fields).filter(([, v]) => v.required && !v.requiredUnless).map(([k]) => k);
      const out: Json = { ...base, type: 'object', properties, additionalProperties: false };
      if (required.length) out.required = required;
      // A key required unless another is present: one of the two.
      const either = Object.entries(spec.fields).filter(([, v]) => v.required && v.requiredUnless).map(([k, v]) => ({ anyOf: [{ required: [k] }, { required: [v.requiredUnless] }] }));
      if (either.length) out.allOf = either;
      if (isRoot) out.patternProperties = { [`^${EXTENSION_KEY_PREFIX}`]: {} };
      return out;
    }
    case 'enum':
      return { ...base, type: 'string', enum: [...spec.values] };
    case 'enumList': {
      const item = { type: 'string', enum: [...spec.values] };
      return { ...base, anyOf: [item, { type: 'array', items: item, minItems: 1 }] };
    }
    case 'number': {
      const out: Json = { ...base, type: spec.integer ? 'integer' : 'number' };
      if (spec.min !== undefined) out.minimum = spec.min;
      if (spec.max !== undefined) out.maximum = spec.max;
      if (spec.exclusiveMin !== undefined) out.exclusiveMinimum = spec.exclusiveMin;
      if (spec.exclusiveMax !== undefined) out.exclusiveMaximum = spec.exclusiveMax;
      if (spec.keywords?.length) {
        const { description, default: fallback, ...number } = out;
        return { description, ...(fallback !== undefined ? { default: fallback } : {}), anyOf: [number, { type: 'string', enum: [...spec.keywords] }] };
      }
      return out;
    }
    case 'string':
      return { ...base, type: ['string', 'number'] };
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'path':
      return { ...base, type: 'string', minLength: 1 };
    case 'layers': {
      const part = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: LAYER_RANGE }] };
      return { ...base, anyOf: [...spec.keywords.map((k) => ({ const: k })), part, { type: 'array', items: part, minItems: 1 }] };
    }
    case 'columns':
      return { ...base, anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, maxItems: spec.maxColumns }] };
    case 'seeds':
      return { ...base, anyOf: [{ type: 'integer', minimum: 1 }, { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 }] };
    case 'spans':
      return { ...base, anyOf: [{ const: 'contiguous' }, { type: 'array', items: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: LAYER_RANGE }] }, minItems: 1 }] };
    case 'stringList':
      return { ...base, type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 };
    case 'formatted': {
      const f = FORMATS[spec.format];
      return { ...base, anyOf: [{ type: 'integer', minimum: f.integerMin }, { type: 'string', pattern: f.pattern }] };
    }
    case 'grid': {
      const properties: Json = {};
      for (const p of gridPaths()) {
        const leaf = specAt(splitPath(p));
        if (leaf) properties[p] = { type: 'array', minItems: 1, items: toJsonSchema(leaf) };
      }
      return { ...base, type: 'object', properties, additionalProperties: false };
    }
  }
}

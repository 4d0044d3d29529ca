import { readFileSync } from 'node:fs';

/**
 * The manifest's JSON Schema (manifest.schema.json, published with this package) and a small
 * validator for the part of JSON Schema 2020-12 it uses, so `validate` checks the same file editors
 * use and reports every problem with its JSON path, not only the first.
 */

export interface JsonSchema {
  readonly type?: string;
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly minProperties?: number;
  readonly minLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly anyOf?: readonly JsonSchema[];
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, JsonSchema>>;
}

export interface SchemaProblem {
  /** JSON path of the field, e.g. `models["fashion-mnist"].versions["1.0.0"].variants.fp32.files[0].sha256`. */
  readonly field: string;
  readonly message: string;
}

export const SCHEMA_PATH = new URL('../manifest.schema.json', import.meta.url);

let loaded: JsonSchema | undefined;
export function manifestSchema(): JsonSchema {
  loaded ??= JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as JsonSchema;
  return loaded;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const key = (path: string, name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? `${path ? `${path}.` : ''}${name}` : `${path}[${JSON.stringify(name)}]`);

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}

export function validateAgainst(schema: JsonSchema, value: unknown, root: JsonSchema = schema, path = ''): SchemaProblem[] {
  if (schema.$ref) {
    const name = schema.$ref.replace(/^#\/\$defs\//, '');
    const target = root.$defs?.[name];
    if (!target) throw new Error(`schema $ref ${schema.$ref} is not defined`);
    return validateAgainst({ ...target, ...{ ...schema, $ref: undefined } }, value, root, path);
  }
  const at = path || '(manifest)';
  const problems: SchemaProblem[] = [];
  const add = (message: string, field = at) => problems.push({ field, message });
  if (schema.anyOf && !schema.anyOf.some((option) => validateAgainst(option, value, root, path).length === 0)) {
    add(`does not match any allowed form (got ${JSON.stringify(value)})`);
    return problems;
  }
  if (schema.const !== undefined && value !== schema.const) add(`must be ${JSON.stringify(schema.const)} (got ${JSON.stringify(value)})`);
  if (schema.enum && !schema.enum.includes(value)) add(`must be one of ${schema.enum.map((entry) => JSON.stringify(entry)).join(', ')} (got ${JSON.stringify(value)})`);
  if (schema.type && !typeMatches(schema.type, value)) {
    add(`must be ${schema.type === 'integer' ? 'an integer' : schema.type === 'object' || schema.type === 'array' ? `an ${schema.type}` : `a ${schema.type}`} (got ${JSON.stringify(value)})`);
    return problems;
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) add('must not be empty');
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) add(`must match ${schema.pattern} (got ${JSON.stringify(value)})`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) add(`must be >= ${schema.minimum} (got ${value})`);
    if (schema.maximum !== undefined && value > schema.maximum) add(`must be <= ${schema.maximum} (got ${value})`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) add(`needs at least ${schema.minItems} item(s)`);
    if (schema.items) value.forEach((item, index) => problems.push(...validateAgainst(schema.items!, item, root, `${path}[${index}]`)));
  }
  if (isObject(value)) {
    if (schema.minProperties !== undefined && Object.keys(value).length < schema.minProperties) add(`needs at least ${schema.minProperties} entr${schema.minProperties === 1 ? 'y' : 'ies'}`);
    for (const name of schema.required ?? []) if (!(name in value)) add('is required', key(path, name));
    for (const [name, entry] of Object.entries(value)) {
      const known = schema.properties?.[name];
      if (known) problems.push(...validateAgainst(known, entry, root, key(path, name)));
      else if (schema.additionalProperties === false) add(`is not a manifest field (allowed here: ${Object.keys(schema.properties ?? {}).join(', ')})`, key(path, name));
      else if (isObject(schema.additionalProperties)) problems.push(...validateAgainst(schema.additionalProperties, entry, root, key(path, name)));
    }
  }
  return problems;
}

/** Every place the manifest breaks its JSON Schema. */
export function schemaProblems(manifest: unknown): SchemaProblem[] {
  return validateAgainst(manifestSchema(), manifest);
}

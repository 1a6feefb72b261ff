// One validator for every schema that crosses a wire. Errors name the JSON path and the
// problem, e.g. "/blocks/2/align: must be one of left, center, right".
import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export const ajv = new Ajv({ allErrors: true, discriminator: true, strict: false, coerceTypes: false });
ajv.addFormat('date-time', {
  type: 'string',
  validate: (s: string) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)),
});

export interface ValidationIssue {
  path: string;
  message: string;
}

export class ValidationError extends Error {
  constructor(
    readonly what: string,
    readonly issues: ValidationIssue[],
  ) {
    super(`invalid ${what}: ${issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; ')}`);
    this.name = 'ValidationError';
  }
}

function describe(e: ErrorObject): ValidationIssue {
  const path = e.instancePath;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: `${path}/${String(p.missingProperty)}`, message: 'is required' };
    case 'additionalProperties':
      return {
        path: `${path}/${String(p.additionalProperty)}`,
        message: 'is not allowed here (unknown property)',
      };
    case 'enum':
      return { path, message: `must be one of ${(p.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { path, message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'discriminator':
      return {
        path: `${path}/${String(p.tag)}`,
        message: p.tagValue === undefined ? 'is required' : `has unknown value ${JSON.stringify(p.tagValue)}`,
      };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

/** Validates and returns the typed value, or throws ValidationError. */
export interface Validator<T extends TSchema> {
  (value: unknown): Static<T>;
  /**
   * Compiles the schema now instead of on first use: a big one takes Ajv 50 to 100 ms, which
   * a relay's first order or an agent's first job should not wait for.
   */
  compile(): void;
}

/**
 * Compiles `schema` on first use or on compile() (compiling every schema at import time would
 * cost each command-line run a second).
 */
export function validator<T extends TSchema>(schema: T, what: string = schema.$id ?? 'value'): Validator<T> {
  let check: ValidateFunction | undefined;
  // A schema with an $id may already be known to Ajv, embedded in one compiled earlier.
  const compiled = (): ValidateFunction =>
    (check ??= (schema.$id === undefined ? undefined : ajv.getSchema(schema.$id)) ?? ajv.compile(schema));
  const validate = (value: unknown): Static<T> => {
    const checkValue = compiled();
    if (checkValue(value)) return value as Static<T>;
    const seen = new Set<string>();
    const issues = (checkValue.errors ?? []).map(describe).filter((i) => {
      const key = `${i.path}|${i.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    throw new ValidationError(what, issues);
  };
  return Object.assign(validate, { compile: () => void compiled() });
}

// Small schema builders shared by every protocol module. They keep the JSON Schema that
// Ajv validates and the TypeScript type derived from it in one place.
import { type Static, type TObject, type TUnsafe, Type, type UnsafeOptions } from '@sinclair/typebox';

/** A string that must be one of `values`; validates to a clear "must be one of" error. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: UnsafeOptions = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** An integer that must be one of `values`. */
export function IntegerEnum<const T extends readonly number[]>(
  values: T,
  options: UnsafeOptions = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'integer', enum: [...values] });
}

/**
 * A union of objects told apart by a literal property (default `type`). Emitted as
 * oneOf + discriminator so that Ajv reports the errors of the matching branch only.
 */
export function TaggedUnion<const T extends TObject[]>(
  schemas: [...T],
  options: UnsafeOptions & { tag?: string } = {},
): TUnsafe<Static<T[number]>> {
  const { tag = 'type', ...rest } = options;
  return Type.Unsafe<Static<T[number]>>({ ...rest, oneOf: schemas, discriminator: { propertyName: tag } });
}

/** Standard base64 text (RFC 4648, padded or not). */
export function Base64(options: { maxLength: number; description?: string }) {
  return Type.String({ ...options, contentEncoding: 'base64', pattern: '^[A-Za-z0-9+/]*={0,2}$' });
}

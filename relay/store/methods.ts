// One object of the public methods of several store classes (RelayStore is Directory and JobStore).
/** The public methods of a class instance, bound to it (private ones are #private, not listed). */
export function methodsOf<T extends object>(instance: T): T {
  const methods: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(instance))) {
    const value: unknown = Reflect.get(instance, name);
    if (name !== 'constructor' && typeof value === 'function') methods[name] = value.bind(instance);
  }
  return methods as T;
}

/** The fields of `value` that are not undefined: what a patch changes, left out fields staying as they are. */
export function definedOf<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

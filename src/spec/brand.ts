// Marks on the values `job()` and `defaults()` return. Symbol.for, so the loader recognises them even
// if a spec somehow got another copy of this module; non-enumerable, so `...web` does not copy the
// defaults mark into a job and JSON never sees either.

/** Marks a value made by `job()`. */
export const jobBrand: unique symbol = Symbol.for("tiffin.job");
/** Marks a value made by `defaults()`. */
export const defaultsBrand: unique symbol = Symbol.for("tiffin.defaults");

/** Returns `value` with a non-enumerable mark. */
export function brand<T extends object>(value: T, mark: symbol): T {
  return Object.defineProperty({ ...value }, mark, { value: true, enumerable: false });
}

/** True when `value` carries `mark`. */
export function hasBrand(value: unknown, mark: symbol): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[mark] === true;
}

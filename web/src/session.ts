// The admin token of this tab: from the URL fragment `#token=...` that `tiffin dev` prints (a
// fragment never reaches the server nor its logs), else typed on the login page. Kept in
// sessionStorage: it lives as long as the tab and is not shared with other tabs or sites.

import { tokenFromHash } from "./route.ts";

const Key = "tiffin.token";


/** Reads the token of this tab, taking it out of the address bar first if it came in the fragment. */
export function takeToken(): string | null {
  const fromHash = tokenFromHash(location.hash);
  if (fromHash !== null) {
    sessionStorage.setItem(Key, fromHash);
    // Out of the address bar and the history: a screenshot or a copied link must not carry it.
    history.replaceState(null, "", `${location.pathname}${location.search}#/fleet`);
    return fromHash;
  }
  return sessionStorage.getItem(Key);
}

/** Keeps the token for this tab. */
export function saveToken(token: string): void {
  sessionStorage.setItem(Key, token);
}

/** Forgets the token (logout, or the server refused it). */
export function clearToken(): void {
  sessionStorage.removeItem(Key);
}

// The login page: the admin token (DATA_DIR/admin.token, or the one `tiffin dev` put in its URL).

import { useState } from "preact/hooks";
import { ErrorCodes, TiffinError } from "../../../src/api/index.ts";
import { clientFor } from "../client.ts";
import { Alert } from "../alert.tsx";

/** Asks for a token and checks it against the server before showing anything. */
export function Login({ message, onToken }: { message: string | null; onToken: (token: string) => void }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(message);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const token = value.trim();
    if (token === "") {
      setError("Enter the admin token.");
      return;
    }
    setBusy(true);
    try {
      await clientFor(token).cluster();
      onToken(token);
    } catch (err) {
      setError(err instanceof TiffinError && err.code === ErrorCodes.Unauthorized ? "The server refused this token." : `Could not reach the server: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>Tiffin</h1>
      <form onSubmit={submit} aria-label="Log in">
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        <p class="hint">
          From <code>DATA_DIR/admin.token</code> on the server (<code>tiffin dev</code> prints a link that logs in directly).
        </p>
        <Alert error={error} />
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  );
}

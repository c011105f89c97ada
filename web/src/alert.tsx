// The one way pages show a failure a person should notice at once (an action refused, a stream cut):
// nothing while there is none, else the message as an alert (read out by screen readers).

/** `error` as an alert, or nothing when null. */
export function Alert({ error }: { error: string | null }) {
  if (error === null) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

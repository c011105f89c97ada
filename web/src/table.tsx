// Column headings for the pages' tables: every table names its columns the same way (scope="col", for
// screen readers), with an "Action" column last when the viewer may act on its rows.

/** A table's head: one heading per column, and "Action" last when `action` is true. */
export function Heads({ cols, action = false }: { cols: readonly string[]; action?: boolean }) {
  return (
    <thead>
      <tr>
        {cols.map((c) => (
          <th scope="col" key={c}>
            {c}
          </th>
        ))}
        {action && <th scope="col">Action</th>}
      </tr>
    </thead>
  );
}

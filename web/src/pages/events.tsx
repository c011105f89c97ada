// The live feed of changes the watch reported since the page opened, newest first, filterable by
// topic and text.

import { useState } from "preact/hooks";
import type { Live } from "../live.ts";
import type { FeedTopic } from "../feed.ts";
import { useLive } from "../hooks.ts";
import { clock } from "../format.ts";

const topics: readonly (FeedTopic | "all")[] = ["all", "host", "job", "task"];

/** The events page. */
export function Events({ live }: { live: Live }) {
  useLive(live);
  const [topic, setTopic] = useState<FeedTopic | "all">("all");
  const [text, setText] = useState("");
  const q = text.trim().toLowerCase();
  const rows = live.feed.filter((e) => (topic === "all" || e.topic === topic) && (q === "" || e.text.toLowerCase().includes(q)));
  return (
    <section aria-labelledby="events-h">
      <h1 id="events-h">Events</h1>
      <div class="filters" role="group" aria-label="Filter events">
        <label for="topic">Topic</label>
        <select id="topic" value={topic} onChange={(e) => setTopic(topics.find((t) => t === e.currentTarget.value) ?? "all")}>
          {topics.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <label for="q">Search</label>
        <input id="q" type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </div>
      {rows.length === 0 && <p>No events since this page opened{q !== "" || topic !== "all" ? " that match" : ""}.</p>}
      <ol class="feed" aria-live="polite" aria-label="Events, newest first">
        {rows.slice(0, 300).map((e, i) => (
          <li key={`${e.at}-${i}`} class={e.topic}>
            <time>{clock(e.at)}</time> <span class="topic">{e.topic}</span> {e.text}
          </li>
        ))}
      </ol>
    </section>
  );
}

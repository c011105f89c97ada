/* global process, console, setInterval, clearInterval */
// The "worker" example task: logs a line every second until it is stopped.
const task = process.env.TASK_ID ?? "unknown";
let n = 0;
const timer = setInterval(() => console.log(`${task} tick ${++n}`), 1000);

process.on("SIGTERM", () => {
  clearInterval(timer);
  console.log(`${task} stopping after ${n} ticks`);
  process.exit(0);
});

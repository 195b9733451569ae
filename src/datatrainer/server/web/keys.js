// One keyboard handler at a time: each page installs its own and the previous one is dropped.
let current = null;

export function onKeys(handler) {
  if (current) document.removeEventListener("keydown", current);
  current = handler;
  if (handler) document.addEventListener("keydown", handler);
}

export function typing(event) {
  const tag = event.target && event.target.tagName;
  return tag === "TEXTAREA" || tag === "INPUT";
}

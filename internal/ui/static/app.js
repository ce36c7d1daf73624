// Liaison's only script: what the screens need, nothing more.
//
// Copy buttons: <button type="button" data-copy="ID"> copies the value of
// the field with that id and says "Copied" for a moment.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  try {
    await navigator.clipboard.writeText(field.value ?? field.textContent);
    button.textContent = "Copied";
  } catch {
    field.select?.();
    button.textContent = "Press Ctrl+C to copy";
  }
  setTimeout(() => { button.textContent = label; }, 2000);
});

// Role defaults: in a form with data-role-defaults, choosing a role ticks
// the private-integrations right for an admin and unticks it for a member
// (the domain's default; the person can still change it).
document.addEventListener("change", (event) => {
  const select = event.target;
  const form = select.closest?.("form[data-role-defaults]");
  if (!form || select.name !== "role") return;
  const box = form.querySelector('input[type=checkbox][name="integrations"]');
  if (box) box.checked = select.value === "admin";
});

// A block with data-when="NAME=VALUE" shows only while the radio button
// NAME has VALUE chosen (the password fields of "Set a password now").
function showWhenChosen() {
  for (const block of document.querySelectorAll("[data-when]")) {
    const [name, value] = block.dataset.when.split("=");
    const chosen = document.querySelector(`input[name="${name}"]:checked`);
    block.hidden = !chosen || chosen.value !== value;
  }
}
document.addEventListener("change", showWhenChosen);
document.addEventListener("DOMContentLoaded", showWhenChosen);
// Counters: <input data-counter="ID" data-max="200"> keeps the element
// with that id saying "12 / 200" as one types, marked when over.
document.addEventListener("input", (event) => {
  const field = event.target.closest?.("[data-counter]");
  if (!field) return;
  const counter = document.getElementById(field.dataset.counter);
  if (!counter) return;
  const n = [...field.value].length, max = Number(field.dataset.max);
  counter.textContent = `${n} / ${max}`;
  counter.classList.toggle("over", n > max);
});

// A page that shows a secret once names its lasting address with
// data-replace-url: the address bar becomes that, so that reloading shows
// that page, not the secret again, and does not send the form twice.
const lasting = document.querySelector("[data-replace-url]");
if (lasting) history.replaceState(null, "", lasting.dataset.replaceUrl);
// Lists of rows: a button data-add-row inside a [data-rows] list adds an
// empty copy of its last [data-row]. Without the script the rows shown
// are still sent.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const rows = button.closest("[data-rows]").querySelectorAll("[data-row]");
  const last = rows[rows.length - 1];
  const copy = last.cloneNode(true);
  copy.querySelectorAll("input").forEach((input) => { input.value = ""; });
  last.after(copy);
  copy.querySelector("input").focus();
});
// Live parts: an element with data-live="NAME" is fetched again every
// data-every milliseconds (default 2000) as this page's address with
// live=NAME, which answers only that element, and replaced by it. The
// new element carries data-live again while there is something to watch
// (a run still running) and not once it is over, which stops it. Nothing
// is fetched while the tab is hidden, nor, for data-live-top, while the
// page is scrolled down (new rows would move what one is reading).
function watchLive() {
  for (const element of document.querySelectorAll("[data-live]:not([data-watched])")) {
    element.dataset.watched = "yes";
    const every = Number(element.dataset.every || 2000);
    const tick = async () => {
      if (!element.isConnected) return;
      if (document.hidden || (element.hasAttribute("data-live-top") && window.scrollY > 40)) {
        setTimeout(tick, every);
        return;
      }
      const url = new URL(location.href);
      url.searchParams.set("live", element.dataset.live);
      try {
        const answer = await fetch(url, { headers: { Accept: "text/html" }, redirect: "error" });
        if (answer.ok) {
          const holder = document.createElement("div");
          holder.innerHTML = await answer.text();
          const fresh = holder.firstElementChild;
          if (fresh) {
            element.replaceWith(fresh);
            watchLive();
            return;
          }
        }
      } catch {
        // Offline or signed out: try again at the next tick.
      }
      setTimeout(tick, every);
    };
    setTimeout(tick, every);
  }
}
document.addEventListener("DOMContentLoaded", watchLive);

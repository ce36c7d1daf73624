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

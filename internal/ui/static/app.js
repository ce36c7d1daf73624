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

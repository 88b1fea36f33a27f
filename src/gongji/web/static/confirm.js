// A weighty action asks first. A form with data-confirm="…" (naming the person and what follows)
// opens the page's dialog instead of submitting; only its 确认 button sends the form, Esc or 取消
// leaves everything as it was. Caught while capturing, so htmx never sees an unconfirmed submit.
document.addEventListener("submit", (ev) => {
  const form = ev.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
  if (form.dataset.confirmed) { delete form.dataset.confirmed; return; }
  ev.preventDefault();
  ev.stopPropagation();
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector(".confirm-text").textContent = form.dataset.confirm;
  dialog.querySelector("button[value=ok]").textContent = form.dataset.confirmOk || "确认";
  dialog.returnValue = "";
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "ok") return;
    form.dataset.confirmed = "1";
    form.requestSubmit(ev.submitter || undefined);
  }, { once: true });
  dialog.showModal();
}, true);

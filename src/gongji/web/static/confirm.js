// A weighty action asks first. A form with data-confirm="…" (naming the person and what follows)
// opens the page's dialog instead of submitting; only its 确认 button sends the form, Esc or 取消
// leaves everything as it was. Caught while capturing, so htmx never sees an unconfirmed submit.
// The words are made when the form is sent, from what was typed: {field} is that field's value (a
// select's chosen option text), {sum:field} the yuan of every field so named added up, {person_name} what
// data-confirm-name="/…?psn_no={psn_no}" answers ({"name": …}: the person, within the staff
// member's area). A chosen option's own data-confirm says what that choice does; empty: no dialog.
// Without script the form is simply sent: the server decides either way.
function fill(form, text, encode) {
  return text.replace(/\{(sum:)?(\w+)\}/g, (all, sum, name) => {
    const fields = [...form.elements].filter((e) => e.name === name);
    if (sum) return yuan(fields);
    const f = fields[0];
    if (!f) return all;
    const value = f instanceof HTMLSelectElement ? (f.selectedOptions[0]?.textContent || "") : f.value;
    return encode ? encodeURIComponent(value.trim()) : value.trim();
  });
}

function yuan(fields) {  // in fen, as the server counts: no floating-point cents
  let fen = 0;
  for (const f of fields) {
    const m = /^\s*(\d{1,12})(?:\.(\d{1,2}))?\s*$/.exec(f.value);
    if (m) fen += Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0"));
  }
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;
}

function wording(form) {
  for (const select of form.querySelectorAll("select")) {
    const option = select.selectedOptions[0];
    if (option && option.dataset.confirm !== undefined) return option.dataset.confirm;
  }
  return form.dataset.confirm;
}

async function named(form) {
  const url = form.dataset.confirmName;
  if (!url) return "";
  try {
    const answer = await fetch(fill(form, url, true), { headers: { Accept: "application/json" } });
    return (await answer.json()).name || "";
  } catch {
    return "(姓名未能查到)";
  }
}

document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  if (!(form instanceof HTMLFormElement) || form.dataset.confirm === undefined) return;
  if (form.dataset.confirmed) { delete form.dataset.confirmed; return; }
  const words = wording(form);
  if (!words) return;
  ev.preventDefault();
  ev.stopPropagation();
  const dialog = document.getElementById("confirm-dialog");
  if (dialog.open || form.dataset.asking) return;  // a second press while asking: still one question
  const submitter = ev.submitter || undefined;
  form.dataset.asking = "1";
  let name = "";
  try {
    name = words.includes("{person_name}") ? await named(form) : "";
  } finally {
    delete form.dataset.asking;
  }
  dialog.querySelector(".confirm-text").textContent = fill(form, words, false).replaceAll("{person_name}", name);
  dialog.querySelector("button[value=ok]").textContent = form.dataset.confirmOk || "确认";
  dialog.returnValue = "";
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "ok") return;
    form.dataset.confirmed = "1";
    form.requestSubmit(submitter);
  }, { once: true });
  dialog.showModal();
}, true);

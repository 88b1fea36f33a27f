// The bill's rows (bill_rows.html: the cashier's desk, the manual reimbursement): add and remove rows,
// Enter never submits from a field, and the code and name fields search the catalogue (a listbox
// under the field: ↑↓ to move, Enter to pick, Esc to close). Without this file the rows on the
// page are posted as they are. Listeners sit on the document, so rows put back by HTMX work too.
(() => {
  const table = () => document.getElementById("bill-table");
  const list = () => document.getElementById("catalog-suggest");
  const rows = () => [...table().tBodies[0].rows];
  const LABELS = { code: "编码", name: "名称", list_class: "类别", category: "费用类型", amount: "金额",
                   selfpay_prop: "自付比例" };

  function renumber() {
    rows().forEach((tr, i) => {
      for (const [field, text] of Object.entries(LABELS)) {
        const el = tr.querySelector(`[name=${field}]`);
        if (el) el.setAttribute("aria-label", `第${i + 1}行${text}`);
      }
      const remove = tr.querySelector("[data-remove]");
      remove.setAttribute("aria-label", `删除第${i + 1}行`);
      remove.hidden = false;
    });
  }

  function clear(tr) {
    tr.classList.remove("bad-row");
    tr.querySelectorAll(".row-error").forEach((e) => e.remove());
    tr.querySelectorAll("input").forEach((el) => {
      el.value = "";
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
    tr.querySelectorAll("select").forEach((el) => { el.selectedIndex = 0; el.removeAttribute("aria-invalid"); });
  }

  function addRow() {
    const last = rows()[rows().length - 1];
    const tr = last.cloneNode(true);
    clear(tr);
    last.after(tr);
    renumber();
    tr.querySelector("[name=code]").focus();
  }

  function removeRow(tr) {
    closeList();
    const all = rows();
    const at = all.indexOf(tr);
    if (all.length === 1) {  // the last row is emptied, not removed: a bill keeps one row to fill
      clear(tr);
      tr.querySelector("[name=code]").focus();
      return;
    }
    tr.remove();
    renumber();
    const next = rows()[Math.min(at, rows().length - 1)];
    next.querySelector("[name=code]").focus();
  }

  // --- catalogue suggestions ---------------------------------------------------------------
  let owner = null;  // the field the list belongs to
  let timer = null;
  let asked = 0;

  function options() { return [...list().querySelectorAll("[role=option][data-code]")]; }

  function closeList() {
    const ul = list();
    if (!ul) return;
    ul.hidden = true;
    ul.innerHTML = "";
    if (table()) table().after(ul);  // back out of the row: never cloned with it, never swapped away
    if (owner) { owner.setAttribute("aria-expanded", "false"); owner.removeAttribute("aria-activedescendant"); }
    owner = null;
  }

  function active() { return list().querySelector("[aria-selected=true]"); }

  function move(step) {
    const opts = options();
    if (!opts.length) return;
    const now = opts.indexOf(active());
    const next = opts[(now + step + opts.length) % opts.length];
    opts.forEach((o) => o.setAttribute("aria-selected", String(o === next)));
    owner.setAttribute("aria-activedescendant", next.id);
    next.scrollIntoView({ block: "nearest" });
  }

  function pick(option) {
    const tr = owner.closest("tr");
    const set = (name, value) => { const el = tr.querySelector(`[name=${name}]`); if (el) el.value = value; };
    set("code", option.dataset.code);
    set("name", option.dataset.name);
    set("list_class", option.dataset.class);
    set("category", option.dataset.category);
    set("selfpay_prop", option.dataset.prop);
    const amount = tr.querySelector("[name=amount]");
    if (!amount.value && option.dataset.price) amount.value = option.dataset.price;
    closeList();
    amount.focus();
    amount.select();
  }

  async function search(input) {
    const url = table().dataset.search;
    const text = input.value.trim();
    if (!url || !text) { closeList(); return; }
    const mine = ++asked;
    const answer = await fetch(`${url}?q=${encodeURIComponent(text)}`, { headers: { "HX-Request": "true" } });
    if (mine !== asked || document.activeElement !== input) return;  // a later keystroke, or gone
    const ul = list();
    ul.innerHTML = answer.ok ? await answer.text() : "";
    if (!ul.querySelector("[role=option]")) { closeList(); return; }
    if (owner && owner !== input) owner.setAttribute("aria-expanded", "false");
    owner = input;
    input.closest("td").append(ul);  // right under the field
    ul.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  document.addEventListener("input", (ev) => {
    const input = ev.target;
    if (!input.matches || !input.matches("#bill-table[data-search] [role=combobox]")) return;
    clearTimeout(timer);
    timer = setTimeout(() => search(input), 150);
  });

  document.addEventListener("keydown", (ev) => {
    const el = ev.target;
    if (!el.form || !el.form.querySelector("#bill-table")) return;
    const open = owner === el && !list().hidden;
    if (open && ev.key === "ArrowDown") { ev.preventDefault(); move(1); return; }
    if (open && ev.key === "ArrowUp") { ev.preventDefault(); move(-1); return; }
    if (open && ev.key === "Escape") { ev.preventDefault(); closeList(); return; }
    if (ev.key !== "Enter" || el.tagName !== "INPUT" || el.type === "checkbox") return;
    ev.preventDefault();  // Enter in a field never sends the bill: 结算 is pressed on purpose
    if (open && (active() || options()[0])) pick(active() || options()[0]);
  });

  document.addEventListener("mousedown", (ev) => {
    const option = ev.target.closest && ev.target.closest("#catalog-suggest [role=option][data-code]");
    if (option) { ev.preventDefault(); pick(option); }
  });

  document.addEventListener("focusin", (ev) => {
    if (owner && ev.target !== owner && !(list() && list().contains(ev.target))) closeList();
  });

  document.addEventListener("click", (ev) => {
    const button = ev.target.closest && ev.target.closest("#bill-table [data-remove], [data-add]");
    if (!button) return;
    if (button.matches("[data-add]")) addRow(); else removeRow(button.closest("tr"));
  });

  // HTMX put the rows back after a preview: show their buttons, and go to the row it refused
  document.addEventListener("htmx:oobAfterSwap", () => {
    renumber();
    const bad = table().querySelector("[aria-invalid=true]");
    if (bad) bad.focus();
  });

  function start() {
    if (!table()) return;
    renumber();
    document.querySelectorAll("[data-add], [data-keys]").forEach((el) => { el.hidden = false; });
    const bad = table().querySelector("[aria-invalid=true]");
    if (bad) bad.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();

// The 校对与复核 page (verification.html), keyboard first.
(() => {
  // Enter sends the reading to the API and moves on; a refusal stays in its row with the value as typed.
  const page = document.currentScript.dataset;  // what the page knows: the file, the states' names, who is checking
  const api = `/api/dossiers/${page.dossier}/verification`;
  const inputs = () => [...document.querySelectorAll("input.reading-value")];
  const started = Date.now();
  let done = 0;
  const labels = JSON.parse(page.labels);
  const next = (input) => { const all = inputs(); const i = all.indexOf(input); (all[i + 1] || input).focus(); };
  const say = (row, message) => { const box = row.querySelector(".error"); box.textContent = message; box.hidden = !message; };
  const pace = () => {  // the counts by state, and this sitting's pace once there is a minute to measure it by
    for (const count of document.querySelectorAll("[data-count]")) {
      count.textContent = document.querySelectorAll(`tr.reading[data-state=${count.dataset.count}]`).length;
    }
    const hours = (Date.now() - started) / 3600000;
    document.getElementById("pace").textContent = `本次已处理 ${done} 条` + (hours >= 1 / 60 ? `，约每小时 ${Math.round(done / hours)} 条` : "");
  };
  const show = (row, r) => {
    row.dataset.version = r.version; row.dataset.state = r.state; row.dataset.value = r.value;
    row.className = `reading state-${r.state}`;
    row.querySelector("input[name=version]").value = r.version;
    const input = row.querySelector("input.reading-value");
    input.value = r.value; input.classList.remove("bad"); input.removeAttribute("aria-invalid");
    const tag = row.querySelector("td.state .tag");
    tag.textContent = labels[r.state];
    tag.className = "tag" + (r.state === "reviewed" ? " ok-tag" : r.state === "proofread" ? " proofread" : "");
    const entry = [...r.checks].reverse().find((c) => c.step !== "reviewed");
    const last = r.checks[r.checks.length - 1];
    const mine = r.state === "proofread" && entry && entry.actor_id === Number(page.user);
    if (mine) row.dataset.mine = "1"; else delete row.dataset.mine;
    row.querySelector(".who").textContent = (entry ? `${entry.actor_name} ${entry.step === "corrected" ? "更正" : "校对"}` : "")
      + (r.state === "reviewed" ? ` · ${last.actor_name} 复核` : mine ? " · 待他人复核" : "");
  };
  // Typing corrects: the value is selected when a reading is reached, so the first key replaces it.
  for (const input of inputs()) input.addEventListener("focus", () => input.select());
  for (const form of document.querySelectorAll("form.check")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const row = form.closest("tr");
      const input = form.querySelector("input.reading-value");
      // One's own check waits for another person: Enter on it unchanged only moves on.
      if ((row.dataset.mine || row.dataset.state === "reviewed") && input.value.trim() === row.dataset.value) { next(input); return; }
      const answer = await fetch(`${api}/${row.dataset.ref}`, {
        method: "POST", headers: {"content-type": "application/json"}, credentials: "same-origin",
        body: JSON.stringify({value: input.value, version: Number(row.dataset.version)}),
      });
      const body = await answer.json().catch(() => ({message: "服务器未能处理，请稍后再试；您的输入仍在此处"}));
      if (!answer.ok) {
        if (body.code === "reading.changed") {  // someone else changed it: their step is shown, the typed value kept
          const now = await (await fetch(api, {credentials: "same-origin"})).json();
          const r = [...now.facts, ...now.lines].find((x) => x.ref === row.dataset.ref);
          // What the person typed stays; a value left as it was shows the other person's, for Enter to confirm.
          const typed = input.value, untouched = typed.trim() === row.dataset.value;
          if (r) { show(row, r); if (!untouched) input.value = typed; input.select(); }
        }
        // The refusal is drawn last, once the row shows what it is about: whoever reads it sees the new state.
        say(row, body.message); input.classList.add("bad"); input.setAttribute("aria-invalid", "true");
        return;
      }
      say(row, ""); show(row, body); done += 1; pace(); next(input);
    });
  }
  const first = inputs().find((i) => i.closest("tr").dataset.state !== "reviewed" && !i.closest("tr").dataset.mine);
  if (first && !document.querySelector(".error:not([hidden])")) first.focus();
})();
